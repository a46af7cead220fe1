import type { IncomingMessage } from 'node:http';

const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);
const FIRST_NON_WHITESPACE = /^[\x20\x09\x0a\x0d]*(.)/;

/** An error as express.json reports it, so that the app's error handler answers it the same way. */
function bodyError(status: number, type: string, message: string): Error & { status: number; type: string } {
  return Object.assign(new Error(message), { status, type, expose: true });
}

/**
 * Reads the body of the common GraphQL request, a POST with `Content-Type: application/json`
 * (UTF-8), a `Content-Length` within the limit and no content encoding, into `req.body`, and
 * calls `done` as express.json would: with no argument once `req.body` is set, or with a 400
 * error (`entity.parse.failed`: not a JSON object or array; `request.aborted`). Answers false,
 * reading nothing, for any other request: express.json reads those, with its inflation,
 * charsets, streaming limits and their errors. It exists because express.json's generality
 * (content-type parsing, charset decoding, stream plumbing) cost more than parsing the JSON on
 * the path every verification takes.
 */
export function readPlainJsonBody(req: IncomingMessage & { body?: unknown }, limitBytes: number, done: (error?: unknown) => void): boolean {
  const { headers } = req;
  const type = headers['content-type'];
  if (req.method !== 'POST' || type === undefined || !PLAIN_JSON.has(type.toLowerCase())) return false;
  if (headers['content-encoding'] !== undefined || headers['transfer-encoding'] !== undefined) return false;
  const declared = headers['content-length'];
  if (declared === undefined || !/^\d{1,10}$/.test(declared)) return false;
  const length = Number(declared);
  if (length === 0 || length > limitBytes) return false;

  const chunks: Buffer[] = [];
  let finished = false;
  const finish = (error?: unknown) => {
    if (finished) return;
    finished = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onAborted);
    done(error);
  };
  const onData = (chunk: Buffer) => chunks.push(chunk);
  const onEnd = () => {
    let text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
    // A byte order mark is not JSON; express.json's decoder drops it too.
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const first = FIRST_NON_WHITESPACE.exec(text)?.[1];
    if (first !== '{' && first !== '[') return finish(bodyError(400, 'entity.parse.failed', 'the body is not a JSON object or array'));
    try {
      req.body = JSON.parse(text);
    } catch {
      return finish(bodyError(400, 'entity.parse.failed', 'the body is not valid JSON'));
    }
    finish();
  };
  // A client that goes away mid-body: Node destroys the request with an "aborted" error.
  const onAborted = () => finish(bodyError(400, 'request.aborted', 'the request was aborted'));
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onAborted);
  return true;
}
