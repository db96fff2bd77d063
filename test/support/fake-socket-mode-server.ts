import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Slack's side of a Socket Mode connection, over a real WebSocket (RFC 6455, text frames only, enough for Slack's
 * JSON envelopes): it greets the client with `hello`, sends envelopes, and records what the client sends back
 * (acks). Hand `url` to the bot through the fake Web API's `apps.connections.open`. */
export class FakeSocketModeServer {
  /** Every JSON message the client sent, in order. */
  readonly received: Array<Record<string, any>> = [];
  private server: Server | null = null;
  private socket: Duplex | null = null;
  private pending = Buffer.alloc(0);

  get url(): string {
    return `ws://127.0.0.1:${(this.server!.address() as AddressInfo).port}/link`;
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  async start(): Promise<void> {
    const server = createServer((_req, res) => res.writeHead(426).end());
    server.on('upgrade', (req, socket) => {
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${WEBSOCKET_GUID}`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      this.socket = socket;
      socket.on('data', (chunk: Buffer) => this.read(chunk));
      socket.on('close', () => {
        if (this.socket === socket) this.socket = null;
      });
      socket.on('error', () => socket.destroy());
      this.send({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0TESTAPP' }, debug_info: { host: 'fake' } });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
  }

  async stop(): Promise<void> {
    this.socket?.destroy();
    this.socket = null;
    const server = this.server;
    this.server = null;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Sends one JSON message to the connected client. */
  send(message: object): void {
    if (!this.socket) throw new Error('no Socket Mode client is connected');
    this.socket.write(frame(0x1, Buffer.from(JSON.stringify(message))));
  }

  /** Client frames are masked and may arrive split or several per chunk. */
  private read(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (this.pending.length < 2) return;
      const opcode = this.pending[0] & 0x0f;
      let length = this.pending[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.pending.length < 4) return;
        length = this.pending.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.pending.length < 10) return;
        length = Number(this.pending.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (this.pending[1] & 0x80) !== 0;
      const maskOffset = offset;
      if (masked) offset += 4;
      if (this.pending.length < offset + length) return;
      const payload = Buffer.from(this.pending.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= this.pending[maskOffset + (i % 4)];
      this.pending = this.pending.subarray(offset + length);
      if (opcode === 0x1) this.received.push(JSON.parse(payload.toString('utf8')));
      else if (opcode === 0x9) this.socket?.write(frame(0xa, payload));
      else if (opcode === 0x8) {
        this.socket?.end(frame(0x8, payload));
        this.socket = null;
      }
    }
  }
}

/** One unmasked, final server frame. */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x80 | opcode, length]) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (length >= 126 && length < 65_536) {
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else if (length >= 65_536) {
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}
