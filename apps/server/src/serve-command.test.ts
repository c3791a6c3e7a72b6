import { describe, expect, it } from 'vitest';
import { buildProgram, type ServeConfig } from './serve-command.js';

async function parse(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeConfig> {
  let config: ServeConfig | undefined;
  const program = buildProgram((c) => {
    config = c;
  }, env);
  program.exitOverride();
  for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  await program.parseAsync(['node', 'vllm-ts', 'serve', ...argv]);
  return config!;
}

describe('vllm-ts serve flags', () => {
  it('defaults to 127.0.0.1:8000, no key, the bundled model', async () => {
    const c = await parse([]);
    expect(c).toMatchObject({ model: undefined, host: '127.0.0.1', port: 8000, apiKeys: [], servedModelNames: [], maxLogprobs: 20, shutdownTimeout: 30 });
    expect(c.engineArgs).toEqual({});
  });

  it("maps vLLM's kebab-case flags to the engine's camelCase args", async () => {
    const c = await parse([
      '/models/x',
      '--served-model-name', 'a', 'b',
      '--engine-version', 'v0',
      '--device', 'cpu',
      '--dtype', 'float32',
      '--load-format', 'dummy',
      '--max-model-len', '2048',
      '--max-num-seqs', '64',
      '--max-num-batched-tokens', '1024',
      '--no-enable-prefix-caching',
      '--enable-chunked-prefill',
      '--block-size', '32',
      '--gpu-memory-utilization', '0.5',
      '--num-gpu-blocks-override', '100',
      '--seed', '7',
      '--speculative-config', '{"method":"ngram","num_speculative_tokens":3}',
      '--generation-config', 'vllm',
      '--override-generation-config', '{"temperature":0.5,"max_new_tokens":128}',
      '--disable-log-requests',
    ]);
    expect(c.model).toBe('/models/x');
    expect(c.servedModelNames).toEqual(['a', 'b']);
    expect(c.disableLogRequests).toBe(true);
    expect(c.engineArgs).toEqual({
      model: '/models/x',
      servedModelName: 'a',
      engineVersion: 'v0',
      device: 'cpu',
      dtype: 'float32',
      loadFormat: 'dummy',
      maxModelLen: 2048,
      maxNumSeqs: 64,
      maxNumBatchedTokens: 1024,
      enablePrefixCaching: false,
      enableChunkedPrefill: true,
      blockSize: 32,
      gpuMemoryUtilization: 0.5,
      numGpuBlocks: 100,
      seed: 7,
      speculativeConfig: { method: 'ngram', numSpeculativeTokens: 3 },
      generationConfig: 'vllm',
      overrideGenerationConfig: { temperature: 0.5, max_new_tokens: 128 },
    });
  });

  it('maps --async-scheduling to asyncScheduling (absent: the engine default)', async () => {
    expect((await parse(['/models/x', '--async-scheduling'])).engineArgs).toEqual({ model: '/models/x', asyncScheduling: true });
    expect((await parse(['/models/x'])).engineArgs).toEqual({ model: '/models/x' });
  });

  it('takes API keys from --api-key (repeatable) or VLLM_API_KEY', async () => {
    expect((await parse([], { VLLM_API_KEY: 'env-key' })).apiKeys).toEqual(['env-key']);
    expect((await parse(['--api-key', 'k1', '--api-key', 'k2'], { VLLM_API_KEY: 'env-key' })).apiKeys).toEqual(['k1', 'k2']);
  });

  it.each([
    [['--port', '70000'], /--port.*expected an integer in \[0, 65535\]/],
    [['--engine-version', 'v2'], /Allowed choices are v0, v1/],
    [['--gpu-memory-utilization', '1.5'], /expected a number in \(0, 1\]/],
    [['--speculative-config', '{oops'], /expected JSON/],
    [['--max-num-seqs', '0'], /expected an integer in \[1,/],
    [['--override-generation-config', '[1]'], /--override-generation-config.*expected a JSON object/],
    [['--override-generation-config', '{temperature'], /expected a JSON object/],
    [['--tool-call-parser', 'mistral'], /Allowed choices are hermes, llama3_json/],
    [['--enable-auto-tool-choice'], /--enable-auto-tool-choice requires --tool-call-parser/],
  ])('refuses %j', async (argv, message) => {
    await expect(parse(argv)).rejects.toThrow(message);
  });

  it('takes --enable-auto-tool-choice with --tool-call-parser, and the parser alone', async () => {
    expect(await parse(['--enable-auto-tool-choice', '--tool-call-parser', 'hermes'])).toMatchObject({ enableAutoToolChoice: true, toolCallParser: 'hermes' });
    expect(await parse(['--tool-call-parser', 'llama3_json'])).toMatchObject({ enableAutoToolChoice: false, toolCallParser: 'llama3_json' });
    expect(await parse([])).toMatchObject({ enableAutoToolChoice: false, toolCallParser: undefined });
  });

  it('lists every flag in --help', () => {
    const serve = buildProgram(() => undefined).commands.find((c) => c.name() === 'serve')!;
    const help = serve.helpInformation();
    for (const flag of ['--host', '--port', '--api-key', '--served-model-name', '--engine-version', '--device', '--dtype', '--load-format', '--max-model-len', '--max-num-seqs', '--max-num-batched-tokens', '--enable-prefix-caching', '--no-enable-prefix-caching', '--enable-chunked-prefill', '--block-size', '--gpu-memory-utilization', '--seed', '--generation-config', '--override-generation-config', '--disable-log-requests', '--enable-auto-tool-choice', '--tool-call-parser']) {
      expect(help).toContain(flag);
    }
  });
});
