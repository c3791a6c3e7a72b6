#!/usr/bin/env node
// Prints the node_modules paths (relative to the repo root) that the given packages need at run
// time: themselves and their dependencies, recursively, as installed. Used to ship vitest to the
// GPU machine, which has no Node.js packages.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? '.');
const seen = new Set();
function visit(name, from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) {
      if (seen.has(candidate)) return;
      seen.add(candidate);
      const pkg = JSON.parse(readFileSync(path.join(candidate, 'package.json'), 'utf8'));
      for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep, candidate);
      return;
    }
    if (dir === root || dir === path.dirname(dir)) return;
  }
}
for (const name of process.argv.slice(3)) visit(name, root);
for (const p of [...seen].sort()) console.log(path.relative(root, p));
