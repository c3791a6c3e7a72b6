import { expect, it } from 'vitest';

it('exports exactly the documented surface', async () => {
  expect(Object.keys(await import('./index.js')).sort()).toMatchInlineSnapshot(`
    [
      "SchedulerV0",
      "resolveSchedulerV0Config",
    ]
  `);
});
