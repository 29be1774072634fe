// The Lambda Runtime API, client side: long-poll for the next invocation, post its result or error, report an
// init error. One keep-alive connection (an idle kept-alive socket is unref'd, so it never holds the event loop
// open; that matters for callbackWaitsForEmptyEventLoop).
import http from 'node:http';

const PREFIX = '/2018-06-01/runtime';

export class RuntimeClient {
  constructor(address) {
    const colon = address.lastIndexOf(':');
    this.hostname = address.slice(0, colon);
    this.port = Number(address.slice(colon + 1));
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  request(method, path, body, headers = {}) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body);
      const request = http.request({
        hostname: this.hostname,
        port: this.port,
        path: `${PREFIX}${path}`,
        method,
        agent: this.agent,
        headers: payload === undefined ? headers
          : { 'Content-Type': 'application/json', 'Content-Length': payload.length, ...headers },
      }, (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve({
          status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString('utf8'),
        }));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.end(payload);
    });
  }

  // The next invocation, or null when the environment is shutting down.
  async next() {
    const response = await this.request('GET', '/invocation/next');
    if (response.status !== 200) return null;
    return response;
  }

  postResult(requestId, json) {
    return this.request('POST', `/invocation/${encodeURIComponent(requestId)}/response`, json);
  }

  postError(requestId, errorResponse) {
    return this.request('POST', `/invocation/${encodeURIComponent(requestId)}/error`, JSON.stringify(errorResponse),
      { 'Lambda-Runtime-Function-Error-Type': errorResponse.errorType ?? 'Unknown' });
  }

  postInitError(errorResponse) {
    return this.request('POST', '/init/error', JSON.stringify(errorResponse),
      { 'Lambda-Runtime-Function-Error-Type': errorResponse.errorType ?? 'Unknown' });
  }
}
