#!/usr/bin/env node
// `vllm-ts serve`: until the server lands, say what is coming instead of failing silently.
const [command = 'serve'] = process.argv.slice(2);
if (command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write('Usage: vllm-ts serve [model]\n\nServes a model over an OpenAI-compatible HTTP API.\n');
  process.exit(0);
}
process.stderr.write(
  'vllm-ts serve: the OpenAI-compatible server is not built yet.\n' +
    'It will serve the bundled default model on http://127.0.0.1:8000/v1 (see apps/server/README.md).\n' +
    'Meanwhile: `npm test` runs the test suite and `npm run docs` writes the API reference to docs/api.\n',
);
process.exit(1);
