import { malformed, unsupported } from '../errors.js';

/** A compiled post-processor for one sequence: adds the special tokens around `ids`. */
export type PostProcess = (ids: number[]) => number[];

const SUPPORTED = ['TemplateProcessing', 'ByteLevel', 'RobertaProcessing', 'BertProcessing', 'Sequence'];

/**
 * Compiles the `post_processor` section of `tokenizer.json` for single sequences.
 * @returns the post-processor, or null when it adds nothing
 * @throws {TokenizerError} `unsupported_tokenizer` for an unknown type
 */
export function compilePostProcessor(json: unknown): PostProcess | null {
  if (json == null) return null;
  const spec = json as Record<string, any>;
  switch (spec.type) {
    case 'ByteLevel':
      return null;
    case 'TemplateProcessing': {
      if (!Array.isArray(spec.single)) malformed('TemplateProcessing needs a "single" template', spec);
      const specials = (spec.special_tokens ?? {}) as Record<string, { ids: number[] }>;
      const template = (spec.single as Record<string, any>[]).map((piece) => {
        if (piece.Sequence) return null;
        const name = piece.SpecialToken?.id;
        const ids = specials[name]?.ids;
        if (!Array.isArray(ids)) malformed(`TemplateProcessing special token ${JSON.stringify(name)} is not in special_tokens`, piece);
        return ids;
      });
      return (ids) => {
        const out: number[] = [];
        for (const piece of template) {
          if (piece === null) for (const id of ids) out.push(id);
          else out.push(...piece);
        }
        return out;
      };
    }
    case 'RobertaProcessing':
    case 'BertProcessing': {
      const cls = spec.cls?.[1];
      const sep = spec.sep?.[1];
      if (typeof cls !== 'number' || typeof sep !== 'number') malformed(`${spec.type} needs cls and sep as [token, id]`, spec);
      return (ids) => [cls, ...ids, sep];
    }
    case 'Sequence': {
      const steps = ((spec.processors ?? []) as unknown[]).map(compilePostProcessor).filter((p): p is PostProcess => p !== null);
      if (steps.length === 0) return null;
      return (ids) => steps.reduce((acc, step) => step(acc), ids);
    }
    default:
      return unsupported('post_processor', spec.type, SUPPORTED);
  }
}
