import { describe, expect, it } from 'vitest';
import { linearClassifier } from './helpers/onnx-model.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { rawRequest } from './helpers/raw-http.js';
import { serveModelRepo } from './helpers/server.js';

// A streamed multipart reader must not wait for a body whose declared length is already past the
// body limit: the client may never send it.
const suite = serveModelRepo(() =>
  makeModelRepo({ cls: { onnx: linearClassifier({ classes: 2 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['a', 'b'] } } } }),
);

describe('multipart bodies declared past the body limit', () => {
  it('predict answers 413 at once, before any of the body arrives, and the server keeps serving', async () => {
    const port = Number(new URL(suite.url).port);
    const head =
      'POST /v1/models/cls/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n' +
      `Content-Length: ${100 * 1024 * 1024}\r\n\r\n--b\r\n`;
    const res = await rawRequest(port, head, { timeoutMs: 2000 });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.slice(res.body.indexOf('{')))).toMatchObject({ error: { code: 'payload_too_large' } });
    expect((await fetch(`${suite.url}/health/live`)).status).toBe(200);
  });
});
