// Callback Sandbox's Node.js Lambda runtime: `node runtime.mjs <handler>`, started by the `local` executor with
// AWS_LAMBDA_RUNTIME_API pointing at its per-environment Runtime API server.
//
// It behaves as AWS's Node.js runtime does for the function: CommonJS and ES module handlers, async (promise)
// and callback handlers, the context object, callbackWaitsForEmptyEventLoop, AWS-shaped errors, console lines
// with timestamp, request id and level, and uncaught exceptions or unhandled rejections failing the invocation
// and ending the process. (Why not AWS's aws-lambda-ric package: see the plugin README.)
import { createRequire } from 'node:module';
import net from 'node:net';
import * as logging from './console.mjs';
import { RuntimeError, toLogText, toResponse } from './errors.mjs';
import { loadHandler } from './handler.mjs';
import { RuntimeClient } from './runtime_client.mjs';

const LIFELINE_VARIABLE = '_SANDBOX_LIFELINE_FD';
const env = process.env;

// Exit as soon as LocalStack, which holds the write end of this pipe, is gone (even after a SIGKILL).
function armLifeline() {
  const fd = Number(env[LIFELINE_VARIABLE]);
  delete env[LIFELINE_VARIABLE];
  if (!Number.isInteger(fd) || fd < 0) return;
  const pipe = new net.Socket({ fd, readable: true, writable: false });
  const exit = () => process.exit(137);
  pipe.on('data', () => {}).on('end', exit).on('error', exit);
  pipe.unref(); // never what keeps the event loop alive
}

function parseHeaderJson(value) {
  if (!value) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

// What runs when the event loop has nothing left to do (callbackWaitsForEmptyEventLoop, or no answer at all).
let onEmptyEventLoop = null;
process.on('beforeExit', () => {
  const action = onEmptyEventLoop;
  onEmptyEventLoop = null;
  if (action) action();
});

let current = null; // the invocation in progress: uncaught errors fail it

function invoke(client, handler, next) {
  return new Promise((finished) => {
    const headers = next.headers;
    const requestId = headers['lambda-runtime-aws-request-id'];
    const deadline = Number(headers['lambda-runtime-deadline-ms']);
    let reported = false;
    let waitForEmptyEventLoop = true;

    const report = (post) => {
      onEmptyEventLoop = null;
      if (reported) {
        console.error('Invocation has already been reported as done. Cannot call complete more than once per '
          + 'invocation.');
        return;
      }
      reported = true;
      current = null;
      post().then(finished, (error) => fatal(`posting the result of ${requestId} failed`, error));
    };
    const fail = (error) => {
      const reason = error === undefined || error === null ? 'handled' : error;
      if (!reported) console.error('Invoke Error', toLogText(reason));
      report(() => client.postError(requestId, toResponse(reason)));
    };
    const succeed = (result) => {
      let json;
      try {
        json = JSON.stringify(result === undefined ? null : result);
      } catch {
        fail(new Error('Unable to stringify response body'));
        return;
      }
      report(() => client.postResult(requestId, json));
    };
    let called = false;
    const callback = (error, result) => {
      if (called) return;
      called = true;
      onEmptyEventLoop = null;
      if (error !== undefined && error !== null) fail(error);
      else if (!waitForEmptyEventLoop) succeed(result);
      else onEmptyEventLoop = () => setImmediate(() => succeed(result));
    };
    const done = (error, result) => (error !== undefined && error !== null ? fail(error) : succeed(result));

    const context = {
      get callbackWaitsForEmptyEventLoop() { return waitForEmptyEventLoop; },
      set callbackWaitsForEmptyEventLoop(value) { waitForEmptyEventLoop = value; },
      succeed,
      fail,
      done,
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: parseHeaderJson(headers['lambda-runtime-client-context']),
      identity: parseHeaderJson(headers['lambda-runtime-cognito-identity']),
      invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
      awsRequestId: requestId,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    for (const name of ['succeed', 'fail', 'done']) Object.defineProperty(context, name, { enumerable: false });

    current = { requestId, fail };
    logging.setRequestId(requestId);
    if (headers['lambda-runtime-trace-id']) env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
    else delete env._X_AMZN_TRACE_ID;
    onEmptyEventLoop = () => succeed(null); // neither a promise nor the callback answered
    try {
      const result = handler(JSON.parse(next.body), context, callback);
      if (result && typeof result.then === 'function') result.then(succeed, fail);
    } catch (error) {
      callback(error);
    }
  });
}

let client;

function fatal(what, error) {
  process.stderr.write(`Callback Sandbox Node.js runtime: ${what}: ${error?.stack ?? error}\n`);
  process.exit(1);
}

let initialized = false;

// An uncaught exception or unhandled rejection fails the current invocation (or the init) and ends the process;
// between invocations it only ends the process (the next invocation starts a fresh one).
function crash(label, error, exitCode) {
  console.error(label, toLogText(error));
  const body = toResponse(error);
  let post = Promise.resolve();
  if (current) post = client.postError(current.requestId, body);
  else if (!initialized) post = client.postInitError(body);
  current = null;
  post.finally(() => process.exit(exitCode));
}

async function main() {
  armLifeline();
  logging.install();
  createRequire(import.meta.url)('./sdk_endpoint.cjs').install(env.AWS_ENDPOINT_URL);
  if (!env.AWS_LAMBDA_RUNTIME_API || process.argv.length !== 3) {
    fatal('usage', 'node runtime.mjs <module.handler> with AWS_LAMBDA_RUNTIME_API set');
  }
  client = new RuntimeClient(env.AWS_LAMBDA_RUNTIME_API);
  process.on('uncaughtException', (error) => crash('Uncaught Exception', error, 129));
  process.on('unhandledRejection', (reason) => {
    const error = new RuntimeError('Runtime.UnhandledPromiseRejection', String(reason));
    error.reason = reason;
    crash('Unhandled Promise Rejection', error, 128);
  });

  let handler;
  try {
    handler = await loadHandler(env.LAMBDA_TASK_ROOT || process.cwd(), process.argv[2]);
  } catch (error) {
    crash('Uncaught Exception', error, 129);
    return;
  }
  initialized = true;
  for (;;) {
    const next = await client.next();
    if (next === null) process.exit(0); // the environment is being replaced or stopped
    await invoke(client, handler, next);
  }
}

main().catch((error) => fatal('stopped', error));
