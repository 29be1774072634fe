'use strict';
// Points the AWS SDKs a function loads at the sandbox (AWS_ENDPOINT_URL), with no change to the function's code.
//
// - SDK v3 reads AWS_ENDPOINT_URL itself. Its SQS client, though, sends each call to the host named in the
//   QueueUrl when that differs from the endpoint; LocalStack's queue URLs name hosts that do not resolve
//   (sqs.<region>.localhost) or a port that only the host has (docker mode). Here the endpoint stays the endpoint
//   (useQueueUrlAsEndpoint defaults to false), which on AWS reaches the same regional service.
// - SDK v2 (aws-sdk) has no endpoint setting in the environment: its global config gets the endpoint (and
//   path-style S3 addressing), and SQS calls, which v2 sends to the QueueUrl's host, go to the endpoint with the
//   queue's path. A client created with its own `endpoint` keeps it.
//
// Both are patched as their modules load (Module._load), so a function that never loads an SDK pays nothing,
// and a copy bundled in the function's own node_modules is patched as well as the runtime's.
const Module = require('node:module');
const path = require('node:path');

const V3_SQS_MIDDLEWARE = '@aws-sdk/middleware-sdk-sqs';
const V2_LOADER = /[\\/]aws-sdk[\\/]lib[\\/]?$/;

function patchV3Sqs(exports) {
  const resolveQueueUrlConfig = exports.resolveQueueUrlConfig;
  if (typeof resolveQueueUrlConfig !== 'function' || resolveQueueUrlConfig.sandboxPatched) return;
  const patched = (config) => resolveQueueUrlConfig(
    Object.assign(config, { useQueueUrlAsEndpoint: config.useQueueUrlAsEndpoint ?? false }));
  patched.sandboxPatched = true;
  try {
    exports.resolveQueueUrlConfig = patched;
  } catch {
    // a frozen or getter-only export: leave the SDK as it is
  }
}

function patchV2(AWS, endpoint) {
  if (typeof AWS?.Config !== 'function' || AWS.sandboxEndpoint) return;
  AWS.sandboxEndpoint = endpoint;
  AWS.config.update({ endpoint: endpoint.href.replace(/\/$/, ''), s3ForcePathStyle: true });
  AWS.events.on('afterBuild', (request) => {
    const service = request.service;
    if (service?.serviceIdentifier !== 'sqs' || !request.params?.QueueUrl) return;
    if (service.config.endpoint !== AWS.config.endpoint) return; // the function chose its own endpoint
    const target = request.httpRequest.endpoint;
    target.protocol = endpoint.protocol;
    target.hostname = endpoint.hostname;
    target.port = Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80));
    target.host = endpoint.host;
    target.href = `${endpoint.protocol}//${endpoint.host}${target.path ?? '/'}`;
  });
}

function install(endpointUrl) {
  if (!endpointUrl) return;
  let endpoint;
  try {
    endpoint = new URL(endpointUrl);
  } catch {
    return;
  }
  const load = Module._load;
  Module._load = function sandboxLoad(request, parent, isMain) {
    const exports = load.apply(this, arguments);
    if (request === V3_SQS_MIDDLEWARE) {
      patchV3Sqs(exports);
    } else if (request.endsWith('node_loader') && parent?.filename
               && V2_LOADER.test(path.dirname(path.resolve(path.dirname(parent.filename), request)))) {
      // node_loader requires itself in a cycle and sets AWS.config last: patch once it has finished loading.
      const loaded = Module._cache[Module._resolveFilename(request, parent, isMain)]?.loaded;
      if (loaded) patchV2(exports, endpoint);
    }
    return exports;
  };
}

module.exports = { install };
