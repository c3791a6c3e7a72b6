import { basename } from 'node:path';
import { AsyncLLM, defaultModelDir } from '@vllm-ts/engine';
import cliProgress from 'cli-progress';
import { pino } from 'pino';
import { createServer } from './create-server.js';
import type { ServerEngine } from './engine-types.js';
import { humanLogStream } from './human-log-stream.js';
import type { ServeConfig, ServeEngineArgs } from './serve-command.js';

/** Where the model to serve comes from, in words for the log. */
export interface ResolvedModel {
  /** Passed to the engine as `model` (undefined: the engine's bundled default model). */
  readonly model: string | undefined;
  readonly note: string;
  /** Served name to use when the user gave none (a short name for a default model), else undefined. */
  readonly servedModelName?: string;
}

/**
 * The model `vllm-ts serve` loads: the argument when given; otherwise the bundled default model
 * (`@vllm-ts/engine/default-model`), or, while that is not built yet, the tiny-qwen3 test fixture.
 *
 * @param model the command's model argument
 * @returns what to load and a note for the log
 */
export async function resolveServeModel(model: string | undefined): Promise<ResolvedModel> {
  if (model !== undefined) return { model, note: model };
  try {
    const dir = defaultModelDir();
    return { model: undefined, servedModelName: basename(dir), note: `the bundled default model (${dir})` };
  } catch {
    // Not built yet: the fixture below stands in.
  }
  const fixtures = (await import('@vllm-ts/fixtures')) as { modelFixtureDir(name: string): string };
  const dir = fixtures.modelFixtureDir('tiny-qwen3');
  return {
    model: dir,
    servedModelName: 'tiny-qwen3',
    note: `the tiny-qwen3 test fixture (${dir}): the bundled default model is not built yet, so this serves a random tiny model`,
  };
}

/**
 * Runs `vllm-ts serve`: listens at once (503 until the engine is ready), loads the engine with a
 * progress bar, prints one ready line, and on SIGTERM/SIGINT drains and exits 0 (a second signal
 * exits 1 at once).
 *
 * @param config the parsed command line
 */
export async function runServe(config: ServeConfig): Promise<void> {
  const logger = pino(
    { name: 'vllm-ts', level: process.env.VLLM_TS_LOG_LEVEL ?? 'info' },
    process.env.VLLM_TS_LOG_FORMAT === 'json' ? pino.destination(2) : humanLogStream(process.stderr),
  );
  const resolved = await resolveServeModel(config.model);
  logger.info(`loading ${resolved.note}`);
  const bar = new cliProgress.SingleBar(
    { format: 'Loading weights |{bar}| {percentage}% | {value}/{total} MiB', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let barStarted = false;
  const onLoadProgress = (loaded: number, total: number) => {
    const mib = (x: number) => Math.round((x / 2 ** 20) * 10) / 10;
    if (!barStarted) {
      bar.start(mib(total), 0);
      barStarted = true;
    }
    bar.update(mib(loaded));
  };
  const args: ServeEngineArgs & { onLoadProgress: typeof onLoadProgress } = { ...config.engineArgs, onLoadProgress };
  if (resolved.model === undefined) delete args.model;
  else args.model = resolved.model;
  const servedModelNames =
    config.servedModelNames.length === 0 && resolved.servedModelName ? [resolved.servedModelName] : config.servedModelNames;
  const server = createServer({
    engine: AsyncLLM.create(args),
    servedModelNames: servedModelNames,
    apiKeys: config.apiKeys,
    allowedOrigins: config.allowedOrigins,
    maxLogprobs: config.maxLogprobs,
    disableLogRequests: config.disableLogRequests,
    enablePromptTokensDetails: config.enablePromptTokensDetails,
    enableForceIncludeUsage: config.enableForceIncludeUsage,
    enableAutoToolChoice: config.enableAutoToolChoice,
    ...(config.toolCallParser === undefined ? {} : { toolCallParser: config.toolCallParser }),
    logger,
  });
  let address: string;
  try {
    address = await server.listen({ host: config.host, port: config.port });
  } catch (e) {
    logger.error(`cannot listen on ${config.host}:${config.port}: ${(e as Error).message}`);
    process.exit(1);
  }
  let engine: ServerEngine;
  try {
    engine = await server.ready;
  } catch (e) {
    if (barStarted) bar.stop();
    logger.error(`the engine failed to load: ${(e as Error).message}`);
    await server.close({ drainTimeoutMs: 0 });
    process.exit(1);
  }
  if (barStarted) bar.stop();
  const c = engine.config;
  const names = servedModelNames.length > 0 ? servedModelNames : [c.servedModelName];
  const where = names.length === 1 && names[0] === c.model ? '' : ` (${c.model})`;
  process.stdout.write(
    `vllm-ts serve ready on ${address}/v1 | model ${names.join(', ')}${where} | engine ${c.engineVersion} | ` +
      `device ${c.device} | KV cache ${c.numGpuBlocks} blocks of ${c.blockSize} tokens | max model len ${c.maxModelLen}` +
      `${config.apiKeys.length > 0 ? ' | API key required' : ''}\n`,
  );

  const stats = config.disableLogStats
    ? null
    : setInterval(() => {
        const line = server.metrics.logLine();
        if (line) logger.info(line);
      }, 10_000).unref();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`${signal}: no new requests; letting in-flight ones finish (up to ${config.shutdownTimeout} s)`);
    if (stats) clearInterval(stats);
    server.close({ drainTimeoutMs: config.shutdownTimeout * 1000 }).then(
      () => {
        logger.info('shut down cleanly');
        process.exit(0);
      },
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
