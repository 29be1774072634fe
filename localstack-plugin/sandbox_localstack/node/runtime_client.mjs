// The Lambda Runtime API, client side: long-poll for the next invocation, post its result or error, report an
// init error.
//
// HTTP/1.1 spoken directly over one kept-alive socket, one request at a time, rather than through node:http,
// whose client (request object, agent, parser, streams) was most of this runtime's CPU per invoke: 1.3 ms per
// warm invoke (Python's runtime: 0.6 ms) and 7 ms for the first, whose code was not compiled yet; over the socket
// 0.4 and 3.3 ms (a --cpu-prof of warm invokes, and the process's CPU time). The server is the sandbox's own
// (runtime_api.py), which always answers with a Content-Length. The socket is unref'd while no request is in
// flight, so it never holds the event loop open: that matters for callbackWaitsForEmptyEventLoop.
import net from 'node:net';

const PREFIX = '/2018-06-01/runtime';
const HEAD_END = '\r\n\r\n';

// Header values go out as latin1; anything that is not visible ASCII (an error type named in another script,
// a line break) would break the request, so it is replaced. The error body carries the real name.
const headerValue = (value) => String(value).replace(/[^\x20-\x7e]/g, '?');

function parseHead(text) {
  const [statusLine, ...lines] = text.split('\r\n');
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers };
}

export class RuntimeClient {
  constructor(address) {
    const colon = address.lastIndexOf(':');
    this.host = address.slice(0, colon);
    this.port = Number(address.slice(colon + 1));
    this.socket = null;
    this.exchange = null; // the request in flight and what has arrived of its response
    this.queue = Promise.resolve(); // requests go one after another on the one connection
  }

  request(method, path, body, headers = {}) {
    const send = () => new Promise((resolve, reject) => this.send(method, path, body, headers, resolve, reject));
    const result = this.queue.then(send, send);
    this.queue = result.catch(() => {});
    return result;
  }

  send(method, path, body, headers, resolve, reject) {
    const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
    let head = `${method} ${PREFIX}${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${headerValue(value)}\r\n`;
    if (payload !== undefined) head += `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n`;
    head += '\r\n';
    const socket = this.connection();
    this.exchange = { resolve, reject, head: null, bodyStart: 0, bodyLength: 0, chunks: [], length: 0 };
    socket.ref();
    // One write, so the request leaves as one segment (no Nagle wait between header and body).
    socket.write(payload === undefined ? head : Buffer.concat([Buffer.from(head, 'latin1'), payload]));
  }

  connection() {
    if (this.socket !== null) return this.socket;
    const socket = net.connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.received(chunk));
    socket.on('error', (error) => this.lost(socket, error));
    socket.on('close', () => this.lost(socket, new Error('the Runtime API closed the connection')));
    this.socket = socket;
    return socket;
  }

  received(chunk) {
    const exchange = this.exchange;
    if (exchange === null) return; // nothing was asked: ignore
    exchange.chunks.push(chunk);
    exchange.length += chunk.length;
    if (exchange.head === null) {
      const buffered = exchange.chunks.length === 1 ? chunk : Buffer.concat(exchange.chunks);
      const end = buffered.indexOf(HEAD_END, 0, 'latin1');
      if (end < 0) return;
      exchange.head = parseHead(buffered.toString('latin1', 0, end));
      exchange.bodyStart = end + HEAD_END.length;
      exchange.bodyLength = Number(exchange.head.headers['content-length'] ?? 0);
      exchange.chunks = [buffered];
    }
    if (exchange.length < exchange.bodyStart + exchange.bodyLength) return;
    const buffered = exchange.chunks.length === 1 ? exchange.chunks[0] : Buffer.concat(exchange.chunks);
    const body = buffered.toString('utf8', exchange.bodyStart, exchange.bodyStart + exchange.bodyLength);
    const { status, headers } = exchange.head;
    this.exchange = null;
    if ((headers.connection ?? '').toLowerCase() === 'close') this.drop(this.socket);
    else this.socket.unref();
    exchange.resolve({ status, headers, body });
  }

  lost(socket, error) {
    if (socket !== this.socket) return;
    this.drop(socket);
    const exchange = this.exchange;
    this.exchange = null;
    if (exchange !== null) exchange.reject(error);
  }

  drop(socket) {
    if (socket === this.socket) this.socket = null; // the next request connects anew
    socket.destroy();
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
