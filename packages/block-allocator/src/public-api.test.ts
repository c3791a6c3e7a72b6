import { expect, it } from 'vitest';

it('exports exactly the documented surface', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toMatchInlineSnapshot(`
    [
      "BlockError",
      "BlockPool",
      "BlockSpaceManager",
      "BlockTableError",
      "FreeBlockQueue",
      "watermarkStatus",
    ]
  `);
});
