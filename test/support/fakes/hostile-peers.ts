import { createServer, type Server, type Socket } from 'node:net';

/**
 * Hostile and broken HTTP peers on 127.0.0.1 for the hostile-peer tests and `make bench-hostile`. A raw TCP
 * server (not node:http) so a peer can misbehave below HTTP (headers that never end, silence after accept) and
 * so every server-side socket is counted: `open` is how many connections the client has not closed yet.
 */
export class Peer {
  open = 0;
  accepted = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** `handle(path, socket)` answers a parsed request; without it the peer accepts and stays silent (a TLS client waits forever). */
  static async start(handle?: (path: string, socket: Socket) => void): Promise<Peer> {
    const server = createServer();
    await new Promise<void>((r) =>
      server.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    const a = server.address();
    const peer = new Peer(server, typeof a === 'object' && a ? a.port : 0);
    server.on('connection', (s) => {
      peer.accept(s, handle);
    });
    return peer;
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) =>
      this.server.close(() => {
        r();
      }),
    );
  }

  private accept(s: Socket, handle?: (path: string, socket: Socket) => void): void {
    this.open++;
    this.accepted++;
    this.sockets.add(s);
    s.on('close', () => {
      this.open--;
      this.sockets.delete(s);
    });
    s.on('error', () => {
      /* the client hung up: expected */
    });
    if (!handle) {
      s.resume();
      return;
    }
    let head = '';
    const onData = (c: Buffer) => {
      head += c.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 65_536) s.destroy();
        return;
      }
      s.off('data', onData);
      s.resume(); // ignore anything after the head
      const path = /^[A-Z]+ (\S+) HTTP\/1\.[01]\r\n/.exec(head)?.[1] ?? '/';
      try {
        handle(path, s);
      } catch {
        s.destroy();
      }
    };
    s.on('data', onData);
  }
}

/** Writes `next()` chunks as fast as the client reads them until it returns undefined or the socket closes. */
export function pump(s: Socket, next: () => string | Buffer | undefined, end = true): void {
  const go = () => {
    for (;;) {
      if (s.destroyed) return;
      const chunk = next();
      if (chunk === undefined) {
        if (end) s.end();
        return;
      }
      if (!s.write(chunk)) {
        s.once('drain', go);
        return;
      }
    }
  };
  go();
}

/** Writes one chunk per `everyMs` forever (until the client goes away). */
export function drip(s: Socket, chunk: string, everyMs: number): void {
  const t = setInterval(() => {
    if (s.destroyed) clearInterval(t);
    else s.write(chunk);
  }, everyMs);
  s.on('close', () => {
    clearInterval(t);
  });
}

export function head(status: number, headers: Record<string, string | number> = {}): string {
  const all = { 'Content-Type': 'text/plain; version=0.0.4', Connection: 'close', ...headers };
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`);
  return `HTTP/1.1 ${status} X\r\n${lines.join('')}\r\n`;
}

/** Lines of `gpu_gfx_activity` for `n` series, generated lazily in batches (never built in memory). */
export function seriesLines(n: number, line: (i: number) => string): () => string | undefined {
  let i = 0;
  return () => {
    if (i >= n) return undefined;
    const batch: string[] = [];
    for (const stop = Math.min(n, i + 500); i < stop; i++) batch.push(line(i));
    return batch.join('');
  };
}

const GB = 1024 ** 3;
const FILLER = 'm{a="b"} 1\n'.repeat(6000); // ~64 KiB of valid lines

/** A PromQL peer's per-request override for generated shapes (fast-check). */
export interface ShapeSource {
  body: string;
}

/**
 * /metrics behaviours by path. Every case a scraper must survive: it settles with the right reason within its
 * timeout, keeps bounded memory and leaves no socket open.
 */
export function metricsHandler(path: string, s: Socket): void {
  const route = path.split('?')[0] ?? path;
  switch (route) {
    case '/ok':
      s.end(`${head(200)}gpu_gfx_activity{pod="a",namespace="n"} 50\n`);
      return;
    case '/endless':
      s.write(head(200));
      pump(s, () => FILLER);
      return;
    case '/gigabyte': {
      let sent = 0;
      s.write(head(200, { 'Content-Length': GB }));
      pump(s, () => (sent >= GB ? undefined : ((sent += FILLER.length), FILLER)));
      return;
    }
    case '/drip':
      s.write(head(200));
      drip(s, 'm', 50);
      return;
    case '/headers-forever':
      s.write('HTTP/1.1 200 OK\r\n');
      drip(s, 'X-Slow: 1\r\n', 50);
      return;
    case '/redirect':
      s.end(head(302, { Location: '/redirect' }));
      return;
    case '/error-endless':
      s.write(head(500));
      pump(s, () => FILLER);
      return;
    case '/unauthorized-endless':
      s.write(head(401));
      pump(s, () => FILLER);
      return;
    case '/close-mid-body':
      s.write(`${head(200, { 'Content-Length': 100_000 })}m 1\nm 2\n`);
      setTimeout(() => s.destroy(), 20);
      return;
    case '/invalid':
      s.end(`${head(200)}<html>\n<body>not metrics</body>\n{{{ "x": 1 }}}\n`);
      return;
    case '/million': {
      s.write(head(200));
      const line = (i: number) => `gpu_gfx_activity{gpu_id="${i % 8}",namespace="ml",pod="job-${i >> 3}"} ${i % 100}\n`;
      pump(s, seriesLines(1_000_000, line));
      return;
    }
    case '/long-labels': {
      // ~9.6 MiB: inside the default 10 MiB cap, every label value 2 KiB (over the 1 KiB bound)
      const long = 'x'.repeat(2048);
      s.write(head(200));
      pump(
        s,
        seriesLines(2400, (i) => `gpu_gfx_activity{pod="p${i}",namespace="ml",container="${long}",image="${long}"} ${i % 100}\n`),
      );
      return;
    }
    case '/long-labels-within-bound': {
      const v = 'y'.repeat(1000);
      s.write(head(200));
      pump(
        s,
        seriesLines(4000, (i) => `gpu_gfx_activity{pod="p${i}",namespace="ml",container="${v}"} ${i % 100}\n`),
      );
      return;
    }
    default: {
      const n = /^\/series\/(\d+)$/.exec(route)?.[1];
      if (!n) {
        s.end(`${head(404)}not found\n`);
        return;
      }
      s.write(head(200));
      pump(
        s,
        seriesLines(Number(n), (i) => `gpu_gfx_activity{gpu_id="${i % 8}",namespace="ml",pod="job-${i >> 3}"} ${i % 100}\n`),
      );
    }
  }
}

const vector = (result: unknown[]) => JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
const series = (value: string, pod = 'p') => ({ metric: { namespace: 'ml', pod, gpu_id: '0' }, value: [1_700_000_000, value] });

/** PromQL (/<case>/api/v1/query) behaviours by the path's first segment. */
export function promqlHandler(shape: ShapeSource): (path: string, s: Socket) => void {
  return (path, s) => {
    const kase = path.split('/')[1] ?? '';
    const json = (body: string, status = 200) => s.end(`${head(status, { 'Content-Type': 'application/json' })}${body}`);
    switch (kase) {
      case 'ok':
        json(vector([series('3', 'idle'), series('90', 'busy')]));
        return;
      case 'nonjson':
        json('<html>502 Bad Gateway</html>');
        return;
      case 'truncated':
        json(vector([series('3'), series('4')]).slice(0, 60));
        return;
      case 'shape':
        json(shape.body);
        return;
      case 'nan':
        json(vector([series('NaN')]));
        return;
      case 'inf':
        json(vector([series('+Inf')]));
        return;
      case 'ninf':
        json(vector([series('-Inf')]));
        return;
      case 'huge':
        json(vector([series('1e300')]));
        return;
      case 'negative':
        json(vector([series('-5')]));
        return;
      case 'redirect':
        s.end(head(307, { Location: '/redirect/api/v1/query' }));
        return;
      case 'error':
        json(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 3' }), 400);
        return;
      case 'series60k': {
        // 60,000 GPUs of one pod (the quadratic case); the JSON generated lazily
        let i = 0;
        s.write(`${head(200, { 'Content-Type': 'application/json' })}{"status":"success","data":{"resultType":"vector","result":[`);
        pump(s, () => {
          if (i > 60_000) return undefined;
          if (i === 60_000) {
            i++;
            return ']}}';
          }
          const batch: string[] = [];
          for (const stop = Math.min(60_000, i + 500); i < stop; i++) {
            batch.push(`${i ? ',' : ''}{"metric":{"namespace":"ml","pod":"big","gpu_id":"${i}"},"value":[1700000000,"${i % 7}"]}`);
          }
          return batch.join('');
        });
        return;
      }
      case 'slow':
        s.write(head(200, { 'Content-Type': 'application/json' }));
        drip(s, ' ', 50);
        return;
      default:
        json('{"status":"error","error":"no such case"}', 404);
    }
  };
}
