# Opt-in: this project's LocalStack plugins on top of an official LocalStack image, for users who want a
# newer LocalStack (which needs LOCALSTACK_AUTH_TOKEN) instead of the pinned, token-free 4.14.0 that
# docker/localstack.Dockerfile builds. Used through docker/compose.localstack-image.yml.
#
# Build arguments:
#   LOCALSTACK_IMAGE  the official image (default localstack/localstack:4.14.0); its Python venv lives in
#                     /opt/code/localstack/.venv and its entrypoint starts LocalStack.
#   WHEELS_IMAGE      as in docker/localstack.Dockerfile (offline install of the plugin's dependencies).
# The plugin is installed without constraints.txt: that lock is for 4.14.0, the image brings its own pins.
ARG LOCALSTACK_IMAGE=localstack/localstack:4.14.0
ARG WHEELS_IMAGE=no-wheels

FROM ${LOCALSTACK_IMAGE} AS no-wheels
RUN mkdir -p /wheels

FROM ${WHEELS_IMAGE} AS wheels

FROM ${LOCALSTACK_IMAGE}
ARG AWSLAMBDARIC_VERSION=4.2.2
COPY --from=wheels /wheels/ /tmp/sandbox-build/wheelhouse/
COPY localstack-plugin/ /tmp/sandbox-build/localstack-plugin/
RUN set -e; \
    pip="/opt/code/localstack/.venv/bin/python -m pip install --no-cache-dir --disable-pip-version-check"; \
    if ls /tmp/sandbox-build/wheelhouse/*.whl >/dev/null 2>&1; then \
      pip="$pip --no-index --find-links /tmp/sandbox-build/wheelhouse"; fi; \
    $pip "awslambdaric==${AWSLAMBDARIC_VERSION}" /tmp/sandbox-build/localstack-plugin; \
    rm -rf /tmp/sandbox-build
