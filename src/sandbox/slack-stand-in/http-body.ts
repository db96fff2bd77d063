import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeHttpResponse } from './fake-slack-types';

export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return match ? match[1].trim() : undefined;
}

/** WebClient JSON-encodes objects and arrays (blocks, view, …) inside form fields; turn those back into objects. */
export function decodeFormValue(value: string): unknown {
  if (!value.startsWith('[') && !value.startsWith('{')) return value;
  try {
    return JSON.parse(value);
  } catch {
    // Plain text that merely starts with a bracket, e.g. "[urgent] please approve".
    return value;
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function parseBody(rawBody: Buffer, contentTypeHeader: string | undefined): Promise<Record<string, unknown>> {
  if (rawBody.length === 0) return {};
  const contentType = (contentTypeHeader ?? '').split(';')[0].trim().toLowerCase();
  if (contentType === 'application/json') {
    const parsed: unknown = JSON.parse(rawBody.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { body: parsed };
  }
  if (contentType === 'multipart/form-data') {
    // Uploads (files.uploadV2 steps) arrive as multipart; let the built-in Response parser handle the boundary.
    const form = await new Response(rawBody, { headers: { 'content-type': contentTypeHeader ?? '' } }).formData();
    const fields: Record<string, unknown> = {};
    for (const [key, value] of form) {
      fields[key] = typeof value === 'string' ? decodeFormValue(value) : { filename: value.name, size: value.size, type: value.type };
    }
    return fields;
  }
  // WebClient sends application/x-www-form-urlencoded; treat anything unlabelled the same way.
  const fields: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(rawBody.toString('utf8'))) fields[key] = decodeFormValue(value);
  return fields;
}

export function isHttpResponse(answer: object): answer is FakeHttpResponse {
  const candidate = answer as Partial<FakeHttpResponse>;
  return typeof candidate.status === 'number' && 'body' in answer;
}

export function sendJson(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

export function sendRaw(res: ServerResponse, answer: FakeHttpResponse): void {
  const isText = typeof answer.body === 'string';
  res.writeHead(answer.status, {
    'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    ...answer.headers,
  });
  res.end(isText ? answer.body : JSON.stringify(answer.body));
}
