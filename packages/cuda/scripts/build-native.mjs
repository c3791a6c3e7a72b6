#!/usr/bin/env node
// Builds native/ into build/Release/vllm_cuda.node with nvcc (kernels) and the host C++ compiler (glue).
// Runs at `npm install` and in `npm run build`. Without nvcc it records why in build/build-info.json
// and exits 0, so installs succeed on machines without CUDA; with nvcc, any compile error exits 1.
// Env: CUDA_ARCHS ("90a;80-virtual" by default: sm_90a machine code plus compute_80 PTX that the
// driver compiles for any newer GPU), NVCC, CUDA_HOME, CXX, VLLM_TS_SKIP_CUDA_BUILD=1, NODE_API_INCLUDE.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(pkgDir, 'native');
const buildDir = path.join(pkgDir, 'build');
const objDir = path.join(buildDir, 'obj');
const outFile = path.join(buildDir, 'Release', 'vllm_cuda.node');
const infoFile = path.join(buildDir, 'build-info.json');

function writeInfo(info) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(infoFile, `${JSON.stringify({ ...info, date: new Date().toISOString() }, null, 2)}\n`);
}

function skip(reason) {
  writeInfo({ built: false, reason });
  console.log(`[@vllm-ts/cuda] CUDA addon not built: ${reason}`);
  process.exit(0);
}

function isExecutable(file) {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function findNvcc() {
  const candidates = [];
  if (process.env.NVCC) candidates.push(process.env.NVCC);
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) if (process.env[v]) candidates.push(path.join(process.env[v], 'bin', 'nvcc'));
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc');
  const found = candidates.find(isExecutable);
  return { nvcc: found ? realpathSync(found) : null, looked: [...new Set(candidates)] };
}

/** The toolkit root: nvcc may be a wrapper script, so ask it (its dry run prints TOP=) before guessing. */
function findCudaHome(nvcc) {
  const candidates = [];
  try {
    const r = spawnSync(nvcc, ['--dryrun', '-c', '-x', 'cu', '/dev/null', '-o', '/dev/null'], { encoding: 'utf8' });
    const dry = `${r.stdout}${r.stderr}`;
    const top = /^#\$ TOP=(.*)$/m.exec(dry);
    if (top) candidates.push(path.resolve(top[1].trim()));
  } catch {}
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) if (process.env[v]) candidates.push(process.env[v]);
  candidates.push(path.resolve(path.dirname(nvcc), '..'), '/usr/local/cuda');
  return candidates.find((d) => existsSync(path.join(d, 'include', 'cuda_runtime.h'))) ?? candidates[0];
}

function findNodeApiInclude() {
  const candidates = [];
  if (process.env.NODE_API_INCLUDE) candidates.push(process.env.NODE_API_INCLUDE);
  candidates.push(path.resolve(path.dirname(realpathSync(process.execPath)), '..', 'include', 'node'));
  const ver = process.versions.node;
  for (const base of [path.join(os.homedir(), '.cache', 'node-gyp'), path.join(os.homedir(), '.node-gyp')]) {
    candidates.push(path.join(base, ver, 'include', 'node'));
  }
  return { dir: candidates.find((d) => existsSync(path.join(d, 'node_api.h'))) ?? null, looked: candidates };
}

/** "90a;80-virtual" -> nvcc -gencode flags. */
function gencodeFlags(archs) {
  const flags = [];
  for (const raw of archs.split(/[;,\s]+/).filter(Boolean)) {
    const m = /^(\d+[a-z]?)(-virtual|-real)?$/.exec(raw);
    if (!m) throw new Error(`CUDA_ARCHS entry "${raw}" is not like "90a", "90-real" or "80-virtual"`);
    const [, cc, kind] = m;
    if (kind === '-virtual') flags.push(`-gencode=arch=compute_${cc},code=compute_${cc}`);
    else flags.push(`-gencode=arch=compute_${cc},code=sm_${cc}`);
  }
  return flags;
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited with ${code}: ${args.at(-1)}`))));
  });
}

async function runAll(jobs, parallel) {
  const queue = [...jobs];
  const workers = Array.from({ length: Math.min(parallel, queue.length) }, async () => {
    while (queue.length > 0) await queue.shift()();
  });
  await Promise.all(workers);
}

function listFiles(dir, exts) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p, exts));
    else if (exts.some((e) => entry.name.endsWith(e))) out.push(p);
  }
  return out.sort();
}

const mtime = (f) => statSync(f).mtimeMs;

async function main() {
  if (process.env.VLLM_TS_SKIP_CUDA_BUILD === '1') skip('VLLM_TS_SKIP_CUDA_BUILD=1 is set');
  const { nvcc, looked } = findNvcc();
  if (!nvcc) skip(`nvcc not found (looked at NVCC, CUDA_HOME, CUDA_PATH, PATH: ${looked.join(', ')})`);
  const { dir: napiInclude, looked: napiLooked } = findNodeApiInclude();
  if (!napiInclude) skip(`Node-API headers (node_api.h) not found (looked in ${napiLooked.join(', ')}); set NODE_API_INCLUDE`);
  const cudaHome = findCudaHome(nvcc);
  const cudaInclude = path.join(cudaHome, 'include');
  const cudaLib = ['lib64', path.join('targets', 'x86_64-linux', 'lib'), 'lib']
    .map((d) => path.join(cudaHome, d))
    .find((d) => existsSync(path.join(d, 'libcudart_static.a')));
  if (!cudaLib) skip(`libcudart_static.a not found under ${cudaHome}`);
  const require = createRequire(import.meta.url);
  const addonApiInclude = require('node-addon-api').include_dir;
  const archs = process.env.CUDA_ARCHS?.trim() || '90a;80-virtual';
  const gencode = gencodeFlags(archs);
  const cxx = process.env.CXX || 'c++';
  const nvccVersion = execFileSync(nvcc, ['--version'], { encoding: 'utf8' }).trim().split('\n').at(-1);

  const defines = ['-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED'];
  const cuFlags = ['-c', '-O3', '-std=c++17', '--expt-relaxed-constexpr', '-Xcompiler', '-fPIC', ...gencode, `-I${nativeDir}`];
  const ccFlags = ['-c', '-O2', '-std=c++17', '-fPIC', '-fexceptions', '-fvisibility=hidden', '-Wall', ...defines,
    `-I${nativeDir}`, `-I${cudaInclude}`, `-I${napiInclude}`, `-I${addonApiInclude}`];
  const signature = JSON.stringify({ nvcc, nvccVersion, archs, cxx, cuFlags, ccFlags });

  mkdirSync(objDir, { recursive: true });
  mkdirSync(path.dirname(outFile), { recursive: true });
  let previous = null;
  try {
    previous = JSON.parse(readFileSync(infoFile, 'utf8'));
  } catch {}
  const flagsChanged = previous?.signature !== signature;
  const headers = listFiles(nativeDir, ['.h', '.cuh']);
  const newestHeader = Math.max(0, ...headers.map(mtime));
  const sources = listFiles(nativeDir, ['.cu', '.cc']);
  const jobs = [];
  const objects = [];
  for (const src of sources) {
    const obj = path.join(objDir, `${path.relative(nativeDir, src).replaceAll(path.sep, '_')}.o`);
    objects.push(obj);
    const stale = flagsChanged || !existsSync(obj) || mtime(obj) < Math.max(mtime(src), newestHeader);
    if (!stale) continue;
    jobs.push(async () => {
      const started = Date.now();
      if (src.endsWith('.cu')) await run(nvcc, [...cuFlags, '-o', obj, src]);
      else await run(cxx, [...ccFlags, '-o', obj, src]);
      console.log(`[@vllm-ts/cuda] compiled ${path.relative(pkgDir, src)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    });
  }
  try {
    await runAll(jobs, Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
    const linkStale = jobs.length > 0 || !existsSync(outFile) || objects.some((o) => mtime(o) > mtime(outFile));
    if (linkStale) {
      await run(cxx, ['-shared', '-o', outFile, ...objects, `-L${cudaLib}`, '-lcudart_static', '-ldl', '-lpthread', '-lrt']);
    }
  } catch (error) {
    writeInfo({ built: false, reason: `compile failed: ${error.message}`, signature: null });
    console.error(`[@vllm-ts/cuda] CUDA addon build FAILED: ${error.message}`);
    process.exit(1);
  }
  writeInfo({ built: true, archs, nvcc, nvccVersion, signature });
  console.log(`[@vllm-ts/cuda] built ${path.relative(pkgDir, outFile)} for CUDA_ARCHS=${archs} (${nvccVersion})`);
}

await main();
