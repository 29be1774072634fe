// AWS-shaped errors of the Node.js runtime: what the Runtime API gets (errorType, errorMessage, trace) and how
// the runtime writes an error into the function's log ("Invoke Error \t{...}").
import { types } from 'node:util';

// Errors of the runtime itself (the handler could not be loaded): their name is the errorType, as on AWS, and
// their trace starts with it ("Runtime.ImportModuleError: Error: Cannot find module 'index'").
export class RuntimeError extends Error {
  constructor(type, message) {
    super(message);
    Object.defineProperty(this, 'name', { value: type, enumerable: false, writable: true, configurable: true });
    this.stack = String(this.stack).replace(/^Error/, type);
  }
}

// A failure to load the function's code, as AWS reports it: CommonJS "module not found" and syntax errors become
// runtime errors whose message is the original error's text; anything else (an ES module's missing import
// included) is reported as it was thrown.
export function loadError(error) {
  if (error instanceof SyntaxError) return new RuntimeError('Runtime.UserCodeSyntaxError', `${error}`);
  if (error?.code === 'MODULE_NOT_FOUND') return new RuntimeError('Runtime.ImportModuleError', `${error}`);
  return error;
}

function isErrorLike(value) {
  return types.isNativeError(value) || (value !== null && typeof value === 'object'
    && typeof value.name === 'string' && typeof value.message === 'string');
}

// The body posted to /invocation/{id}/error and /init/error.
export function toResponse(error) {
  try {
    if (isErrorLike(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of '
        + 'its message, name, and stack',
    };
  }
}

// The tab-prefixed JSON that follows "Invoke Error" or "Uncaught Exception" in the log.
export function toLogText(error) {
  try {
    return `\t${JSON.stringify(error, (_key, value) => (isErrorLike(value) ? {
      errorType: value.name,
      errorMessage: value.message,
      ...(value.code !== undefined ? { code: value.code } : {}),
      ...Object.fromEntries(Object.entries(value)),
      stack: typeof value.stack === 'string' ? value.stack.split('\n') : undefined,
    } : value))}`;
  } catch {
    return `\t${String(error)}`;
  }
}
