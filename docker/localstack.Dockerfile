# LocalStack 4.14.0 with this project's LocalStack plugins (runtime executor `local`, SMTP mail relay, restart
# journal), started in host mode inside the container. The same image runs the web UI and the bootstrap service.
#
# Build context: the repo root, source only (see .dockerignore). Build arguments:
#   BASE_IMAGE    any Debian-like image with CPython 3.13 and `python3 -m venv`
#                 (default python:3.13-slim; `make e2e-docker` passes a debootstrap-built local image)
#   WHEELS_IMAGE  an image with cp313 wheels in /wheels for docker/requirements.txt
#                 (callback-sandbox/wheelhouse:local, from docker/make-wheelhouse.sh's folder). With wheels, pip
#                 never touches an index (air-gapped builds). The default, an empty stage: the package index.
#   NODE_SDKS_IMAGE  an image with the Node.js runtimes' AWS SDKs in /node-sdks (callback-sandbox/node-sdks:local,
#                 from `make install`'s npm ci). The default, an empty stage: Node.js functions without the SDKs.
# Both travel once, as images (sandbox/build_images.py), not with every build's context. Every Python version
# comes from constraints.txt + docker/requirements.txt (the same lock as local mode).
ARG BASE_IMAGE=python:3.13-slim
ARG WHEELS_IMAGE=no-wheels
ARG NODE_SDKS_IMAGE=no-node-sdks

FROM ${BASE_IMAGE} AS no-wheels
RUN mkdir /wheels

FROM ${BASE_IMAGE} AS no-node-sdks
RUN mkdir /node-sdks

FROM ${WHEELS_IMAGE} AS wheels

FROM ${NODE_SDKS_IMAGE} AS node-sdks

# The dependencies: rebuilt only when the lock or the wheels change.
FROM ${BASE_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
COPY --from=wheels /wheels/ /build/wheelhouse/
# offline-pip: the wheelhouse and no index when it has wheels.
RUN printf '%s\n' '#!/bin/sh' \
      'if ls /build/wheelhouse/*.whl >/dev/null 2>&1; then' \
      '  exec /opt/venv/bin/pip "$@" --no-index --find-links /build/wheelhouse; fi' \
      'exec /opt/venv/bin/pip "$@"' > /usr/local/bin/offline-pip \
 && chmod +x /usr/local/bin/offline-pip \
 && python3 -m venv /opt/venv
COPY constraints.txt docker/requirements.txt /build/
RUN offline-pip install -c /build/constraints.txt -r /build/requirements.txt

# The plugin package as a wheel, so a change to it rebuilds one small layer, not the whole venv.
FROM deps AS plugin
COPY localstack-plugin/ /build/localstack-plugin/
RUN offline-pip wheel --no-deps -c /build/constraints.txt -w /build/plugin /build/localstack-plugin

FROM ${BASE_IMAGE}
COPY --from=deps /opt/venv /opt/venv
COPY --from=plugin /build/plugin/ /tmp/plugin/
RUN /opt/venv/bin/pip install --no-deps --no-index --no-cache-dir --disable-pip-version-check /tmp/plugin/*.whl \
 && rm -rf /tmp/plugin
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app
# Node.js for Node.js Lambda functions, and zip, which LocalStack's CloudFormation uses to pack inline function
# code: both are in the debootstrap base image; other bases get them from their package mirror when one answers
# (without Node.js, Node.js functions fail with a message saying what to install).
RUN { command -v node && command -v zip; } >/dev/null || { apt-get update -qq \
      && apt-get install -y -qq --no-install-recommends nodejs zip && rm -rf /var/lib/apt/lists/*; } \
    || echo "warning: no Node.js or zip in this image" >&2
# The AWS SDKs the Node.js runtimes bundle, as `make install` put them into the checkout (npm ci).
COPY --from=node-sdks /node-sdks/ /opt/lambda-node/
ENV SANDBOX_NODE_SDK_HOME=/opt/lambda-node
# The project's own code (bootstrap, lambdas, sandbox settings) as in a checkout; REPO_ROOT is /app.
WORKDIR /app
COPY sandbox/ /app/sandbox/
COPY bootstrap/ /app/bootstrap/
COPY lambdas/ /app/lambdas/
# The catcher too: the compose `mailcatcher` service runs the sandbox web UI (catcher + Workflows page) from
# this image, since the Workflows page needs boto3 and the project's code as well.
COPY mailcatcher/ /app/mailcatcher/

# LocalStack settings for running offline; docker-compose.yml sets the rest (ports, SMTP relay, executor).
ENV GATEWAY_LISTEN=0.0.0.0:4566 \
    SKIP_SSL_CERT_DOWNLOAD=1 \
    DISABLE_EVENTS=1 \
    LOCALSTACK_TELEMETRY=0 \
    DNS_ADDRESS=0 \
    LAMBDA_RUNTIME_EXECUTOR=local
EXPOSE 4566
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=5 \
  CMD ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:4566/_localstack/health', timeout=2)"]
CMD ["python3", "-m", "localstack.runtime.main"]
