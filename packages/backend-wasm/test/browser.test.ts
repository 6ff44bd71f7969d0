import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { JsBackend } from '@recur/backend-js';
import * as R from '@recur/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package in a real browser: headless Chromium loads a page that imports the compiled
 * package as ES modules, creates the backend with 2 threads and computes; served once with the
 * cross-origin isolation headers (threads over SharedArrayBuffer, Web Workers from Blob URLs, a
 * main thread that may not block) and once without (one thread, and the reason). Skipped, saying
 * why, where Chromium is not installed.
 */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const ROOT = join(import.meta.dirname, '..', '..', '..');
let out = '';
let server: Server | null = null;
let base = '';
/** Waiting page loads, by their query string; the page posts its result to /result. */
const waiting = new Map<string, (body: string) => void>();

const PAGE = `<!doctype html><html><head>
<script type="importmap">{"imports":{"@recur/tensor":"/packages/tensor/dist/index.js"}}</script>
</head><body>running<script type="module">
import * as R from '@recur/tensor';
const result = {};
try {
  const { WasmBackend } = await import('/__wasm__/index.js');
  const b = await WasmBackend.create({ threads: 2 });
  result.info = b.threadingInfo;
  R.setBackend(b);
  const a = R.randn([96, 200], { seed: 1 });
  const w = R.randn([200, 520], { seed: 2 }).mul(0.1);
  result.value = R.tidy(() => a.matmul(w).tanh().mul(a.sum(-1, true).sigmoid()).sum()).item();
  b.dispose();
} catch (e) {
  result.error = String((e && e.stack) || e);
}
await fetch('/result' + location.search, { method: 'POST', body: JSON.stringify(result) });
</script></body></html>`;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.html': 'text/html',
  '.map': 'application/json',
};

beforeAll(async () => {
  if (!CHROMIUM) return;
  out = mkdtempSync(join(tmpdir(), 'recur-wasm-browser-'));
  execFileSync(process.execPath, [require_tsc(), '-p', 'tsconfig.build.json', '--outDir', out], {
    cwd: join(import.meta.dirname, '..'),
  });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.searchParams.get('isolated') === '1' || req.headers.referer?.includes('isolated=1')) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    if (url.pathname === '/result' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        waiting.get(url.search)?.(body);
        res.end();
      });
      return;
    }
    if (url.pathname === '/page.html') {
      res.setHeader('Content-Type', 'text/html');
      res.end(PAGE);
      return;
    }
    const file = url.pathname.startsWith('/__wasm__/')
      ? join(out, url.pathname.slice('/__wasm__/'.length))
      : join(ROOT, normalize(url.pathname));
    if (!file.startsWith(out) && !file.startsWith(join(ROOT, 'packages'))) {
      res.statusCode = 403;
      res.end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
      res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
      res.end(body);
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(() => {
  server?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

function require_tsc(): string {
  return join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
}

/** Loads the page in headless Chromium and returns what it posted back. */
function loadPage(
  isolated: boolean,
): Promise<{ info?: Record<string, unknown>; value?: number; error?: string }> {
  const search = `?isolated=${isolated ? 1 : 0}`;
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--no-first-run',
    `--user-data-dir=${join(out, `profile-${isolated ? 1 : 0}`)}`,
    `${base}/page.html${search}`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(CHROMIUM!, args, { stdio: 'ignore' });
    const timer = setTimeout(() => {
      waiting.delete(search);
      child.kill();
      reject(new Error('chromium: the page posted no result within 90 s'));
    }, 90_000);
    waiting.set(search, (body) => {
      clearTimeout(timer);
      waiting.delete(search);
      child.kill();
      resolve(JSON.parse(body));
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function reference(): number {
  const js = new JsBackend();
  return R.withBackend(js, () =>
    R.tidy(() => {
      const a = R.randn([96, 200], { seed: 1 });
      const w = R.randn([200, 520], { seed: 2 }).mul(0.1);
      return a.matmul(w).tanh().mul(a.sum(-1, true).sigmoid()).sum().item();
    }),
  );
}

describe.skipIf(!CHROMIUM)('in headless Chromium', () => {
  it('runs on 2 threads on a cross-origin isolated page', async () => {
    const r = await loadPage(true);
    expect(r.error).toBeUndefined();
    expect(r.info).toMatchObject({ threads: 2, sharedMemory: true, environment: 'browser', reason: null });
    expect(Math.abs(r.value! - reference())).toBeLessThan(1e-3 * (1 + Math.abs(reference())));
  }, 120_000);

  it('falls back to 1 thread on a page without isolation and says why', async () => {
    const r = await loadPage(false);
    expect(r.error).toBeUndefined();
    expect(r.info).toMatchObject({ threads: 1, requested: 2, sharedMemory: false });
    expect(String(r.info!.reason)).toMatch(/cross-origin isolated/);
    expect(Math.abs(r.value! - reference())).toBeLessThan(1e-3 * (1 + Math.abs(reference())));
  }, 120_000);
});

if (!CHROMIUM) {
  describe('in headless Chromium', () => {
    it.skip('skipped: no chromium at /usr/bin/chromium (apt-get install chromium)', () => {});
  });
}
