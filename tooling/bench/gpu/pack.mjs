#!/usr/bin/env node
// Builds the self-contained folder of the GPU benchmark (default: .gpu/ at the repository root,
// git-ignored) for a machine with a GPU, PyTorch and no Node: see tooling/bench/README.md.
//
//   node tooling/bench/gpu/pack.mjs [--out DIR] [--deb libvulkan1_….deb]
//
// The folder holds Node (xz), the built dist/ and package.json of the packages the GPU mode loads
// (in a node_modules layout of real files: symlinks do not travel), the `webgpu` package's JS and
// its linux-x64 dawn.node (xz), Debian's libvulkan1 .deb, this machine's libstdc++ (xz, used only
// where the target's is too old for Dawn), MANIFEST.txt and run.sh. It must stay well under 64 MiB.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const LIMIT_MIB = 60;
const MARKER = '.recur-gpu-pack';

/** The workspace packages the GPU mode loads, and their folders. */
const PACKAGES = {
  '@recur/tensor': 'packages/tensor',
  '@recur/graph-compiler': 'packages/graph-compiler',
  '@recur/backend-js': 'packages/backend-js',
  '@recur/backend-webgpu': 'packages/backend-webgpu',
  '@recur/cells': 'packages/cells',
  '@recur/bench': 'tooling/bench',
};

const fail = (message) => {
  process.stderr.write(`pack: ${message}\n`);
  process.exit(1);
};
const log = (line) => process.stderr.write(`${line}\n`);

const { values } = parseArgs({
  options: { out: { type: 'string' }, deb: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  process.stdout.write(
    'Usage: node tooling/bench/gpu/pack.mjs [--out DIR] [--deb libvulkan1_VERSION_amd64.deb]\n',
  );
  process.exit(0);
}
const out = resolve(values.out ?? join(repo, '.gpu'));

for (const [name, dir] of Object.entries(PACKAGES)) {
  if (!existsSync(join(repo, dir, 'dist', 'index.js'))) {
    fail(
      `expected ${dir}/dist (the build of ${name}), found none. Build first: npx --yes pnpm@10.34.9 --filter @recur/bench... --filter @recur/backend-webgpu... build`,
    );
  }
}
if (existsSync(out)) {
  if (!existsSync(join(out, MARKER)))
    fail(`expected ${out} to be absent or an earlier pack (no ${MARKER} in it); remove it or pass --out`);
  rmSync(out, { recursive: true, force: true });
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, MARKER), 'made by tooling/bench/gpu/pack.mjs\n');

/** Compresses a file with xz into `to` (real bytes, never a link). */
function xz(from, to) {
  const r = spawnSync('sh', ['-c', 'xz -6 -T0 -c "$1" > "$2"', 'xz', from, to], { stdio: 'inherit' });
  if (r.status !== 0) fail(`xz failed on ${from} (is xz installed?)`);
}

/** Copies a package's package.json and dist/ (without source maps and declarations). */
function copyPackage(name, dir) {
  const to = join(out, 'app', 'node_modules', ...name.split('/'));
  mkdirSync(to, { recursive: true });
  cpSync(join(repo, dir, 'package.json'), join(to, 'package.json'));
  cpSync(join(repo, dir, 'dist'), join(to, 'dist'), {
    recursive: true,
    dereference: true,
    filter: (src) => !/\.(map|d\.ts)$/.test(src) && !/\.d\.ts\.map$/.test(src),
  });
  return to;
}

log(`packing into ${out}`);
for (const [name, dir] of Object.entries(PACKAGES)) copyPackage(name, dir);
// The PyTorch side of the bench.
const benchTo = join(out, 'app', 'node_modules', '@recur', 'bench', 'gpu');
mkdirSync(benchTo, { recursive: true });
cpSync(join(here, 'torch_rnn.py'), join(benchTo, 'torch_rnn.py'));
// The WebGPU backend's own benchmark: where a forward pass spends its time on the GPU.
const profileTo = join(out, 'app', 'node_modules', '@recur', 'backend-webgpu', 'bench');
mkdirSync(profileTo, { recursive: true });
cpSync(join(repo, 'packages', 'backend-webgpu', 'bench', 'lstm.mjs'), join(profileTo, 'lstm.mjs'));

// webgpu (Dawn for Node): its package.json and index.js, and the linux-x64 dawn.node only.
const requireFromWebGpu = createRequire(join(repo, 'packages', 'backend-webgpu', 'package.json'));
let webgpuDir;
try {
  webgpuDir = dirname(realpathSync(requireFromWebGpu.resolve('webgpu/package.json')));
} catch {
  fail('expected the webgpu package (a peer of @recur/backend-webgpu) installed, found none: pnpm install');
}
const webgpuTo = join(out, 'app', 'node_modules', 'webgpu');
mkdirSync(join(webgpuTo, 'dist', 'linux-x64'), { recursive: true });
for (const f of ['package.json', 'index.js', 'LICENSE.md']) {
  if (existsSync(join(webgpuDir, f))) cpSync(join(webgpuDir, f), join(webgpuTo, f));
}
const dawn = join(webgpuDir, 'dist', 'linux-x64', 'dawn.node');
if (!existsSync(dawn)) fail(`expected ${dawn}, found none`);
log('compressing dawn.node');
xz(dawn, join(webgpuTo, 'dist', 'linux-x64', 'dawn.node.xz'));

log(`compressing node ${process.version}`);
xz(process.execPath, join(out, 'node.xz'));

// libstdc++ of this machine (GLIBCXX_3.4.30, which dawn.node needs), for an older target.
const ldconfig = spawnSync('sh', ['-c', 'ldconfig -p'], { encoding: 'utf8' }).stdout ?? '';
const stdcxx = /libstdc\+\+\.so\.6 \(libc6,x86-64\) => (\S+)/.exec(ldconfig)?.[1];
if (!stdcxx) fail('expected libstdc++.so.6 in `ldconfig -p`, found none');
mkdirSync(join(out, 'lib'), { recursive: true });
xz(realpathSync(stdcxx), join(out, 'lib', 'libstdc++.so.6.xz'));

// Debian's Vulkan loader.
if (values.deb) {
  if (!/libvulkan1_.*\.deb$/.test(basename(values.deb)))
    fail(`expected --deb libvulkan1_….deb, found ${values.deb}`);
  cpSync(values.deb, join(out, basename(values.deb)));
} else {
  log('apt-get download libvulkan1');
  const r = spawnSync('apt-get', ['download', 'libvulkan1'], {
    cwd: out,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0 || !readdirSync(out).some((f) => /^libvulkan1_.*\.deb$/.test(f))) {
    fail('apt-get download libvulkan1 failed; download the .deb another way and pass it with --deb');
  }
}

cpSync(join(here, 'run.sh'), join(out, 'run.sh'));
const commit = (() => {
  try {
    return execFileSync('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();

/** Every file under a folder, with its size; fails on a symlink (it would not travel). */
function files(dir) {
  const list = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isSymbolicLink()) fail(`${p} is a symlink; the pack must hold real files`);
    if (e.isDirectory()) list.push(...files(p));
    else list.push({ path: relative(out, p), bytes: statSync(p).size });
  }
  return list;
}
const manifestHead = `Recur GPU bench pack: commit ${commit}${gitDirty() ? ' (with uncommitted changes)' : ''}, node ${process.version}, packed ${new Date().toISOString()}`;
let all = files(out);
const total = all.reduce((a, f) => a + f.bytes, 0);
writeFileSync(
  join(out, 'MANIFEST.txt'),
  `${manifestHead}\n${all
    .sort((a, b) => b.bytes - a.bytes)
    .map((f) => `${String(f.bytes).padStart(10)}  ${f.path}`)
    .join('\n')}\n`,
);
all = files(out);
const mib = all.reduce((a, f) => a + f.bytes, 0) / 2 ** 20;
if (mib > LIMIT_MIB) fail(`the pack takes ${mib.toFixed(1)} MiB, over ${LIMIT_MIB} MiB`);
log(
  `${out}: ${all.length} files, ${mib.toFixed(1)} MiB (${(total / 2 ** 20).toFixed(1)} MiB before the manifest)`,
);
process.stdout.write(`${out}\n`);

function gitDirty() {
  try {
    const dirs = Object.values(PACKAGES);
    return (
      execFileSync('git', ['-C', repo, 'status', '--porcelain', '--', ...dirs], {
        encoding: 'utf8',
      }).trim() !== ''
    );
  } catch {
    return false;
  }
}
