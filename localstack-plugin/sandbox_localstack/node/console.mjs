// console.* as AWS's Node.js runtime writes it: one record per call, stamped with the time, the request id and the
// level. Text format: "2024-05-01T12:00:00.000Z\t<request id>\tINFO\tmessage", with newlines inside a message
// turned into carriage returns so a multi-line message stays one CloudWatch event. JSON format
// (AWS_LAMBDA_LOG_FORMAT=JSON): {"timestamp", "level", "requestId", "message"}, filtered by AWS_LAMBDA_LOG_LEVEL.
// Writes are synchronous (stdout is a pipe), so every line is out before the invocation's result is posted.
import { format } from 'node:util';

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const METHODS = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', log: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'FATAL' };

let requestId; // undefined during init, as on AWS (the log then says "undefined")

export function setRequestId(id) {
  requestId = id;
}

function textRecord(level, args) {
  return `${new Date().toISOString()}\t${requestId}\t${level}\t${format(...args)}`.replace(/\n/g, '\r') + '\n';
}

function jsonRecord(level, args) {
  const record = { timestamp: new Date().toISOString(), level, requestId, message: format(...args) };
  const [first] = args;
  if (args.length === 1 && first instanceof Error) {
    Object.assign(record, { errorType: first.name, errorMessage: first.message,
      stackTrace: String(first.stack ?? '').split('\n') });
  }
  try {
    return JSON.stringify(record) + '\n';
  } catch {
    return JSON.stringify({ ...record, message: String(record.message) }) + '\n';
  }
}

export function install(env = process.env, stream = process.stdout) {
  const json = (env.AWS_LAMBDA_LOG_FORMAT ?? '').toUpperCase() === 'JSON';
  const threshold = json ? Math.max(0, LEVELS.indexOf((env.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase())) : 0;
  const record = json ? jsonRecord : textRecord;
  for (const [method, level] of Object.entries(METHODS)) {
    const enabled = LEVELS.indexOf(level) >= threshold;
    console[method] = enabled ? (...args) => { stream.write(record(level, args)); } : () => {};
  }
}
