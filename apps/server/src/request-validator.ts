import { describeValue } from '@vllm-ts/core';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ApiError } from './errors.js';

interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** Checks a parsed body against a schema; returns it typed or throws an {@link ApiError}. */
export type RequestValidator<T extends TSchema> = (body: unknown) => Static<T>;

/**
 * Compiles `schema` into a validator whose errors name one field, what it accepts and what came in,
 * e.g. `temperature must be a number >= 0 (got -1)` with `param` = `temperature`.
 *
 * @param schema a typebox object schema whose fields may carry an `expected` wording
 * @returns the validator
 */
export function compileValidator<T extends TSchema>(schema: T): RequestValidator<T> {
  const compiled = Compile(schema);
  return (body) => {
    if (compiled.Check(body)) return body as Static<T>;
    throw describeFirstError(schema, body, compiled.Errors(body) as SchemaError[]);
  };
}

function describeFirstError(schema: TSchema, body: unknown, errors: SchemaError[]): ApiError {
  const first = errors[0];
  if (!first) return new ApiError('invalid_request', 'Request body does not match the expected shape');
  if (first.instancePath === '' && first.keyword === 'required') {
    const missing = (first.params.requiredProperties as string[] | undefined)?.[0] ?? '(unknown)';
    return new ApiError('invalid_request', `${missing} is required`, missing);
  }
  if (first.instancePath === '') {
    return new ApiError('invalid_request', `Request body must be a JSON object (got ${describeValue(body)})`);
  }
  // The outermost error on the same top-level field carries the field's own `expected` wording;
  // for unions the `anyOf` error comes last, after its branches.
  const top = segments(first.instancePath)[0];
  let chosen = first;
  for (const e of errors) {
    if (segments(e.instancePath)[0] !== top) continue;
    if (e.instancePath.length <= chosen.instancePath.length) chosen = e;
  }
  const param = paramName(chosen.instancePath);
  if (chosen.keyword === 'required') {
    const missing = (chosen.params.requiredProperties as string[] | undefined)?.[0] ?? '(unknown)';
    return new ApiError('invalid_request', `${param}.${missing} is required`, `${param}.${missing}`);
  }
  const node = resolvePointer(schema, chosen.schemaPath) as { expected?: string } | undefined;
  const expected = node?.expected ?? chosen.message.replace(/^must (be )?/, '');
  const value = resolvePointer(body, chosen.instancePath);
  return new ApiError('invalid_request', `${param} must be ${expected} (got ${describeValue(value)})`, param);
}

function segments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `/messages/0/role` -> `messages[0].role`. */
function paramName(pointer: string): string {
  let out = '';
  for (const s of segments(pointer)) out += /^\d+$/.test(s) ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

function resolvePointer(root: unknown, pointer: string): unknown {
  let node = root;
  for (const s of segments(pointer.replace(/^#/, ''))) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[s];
  }
  return node;
}
