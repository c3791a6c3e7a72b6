// Prints one plain closing line ("Tests: N passed, N failed, N skipped") that CI log readers understand,
// preceded by the skipped suites and why (GPU suites carry their reason in their name).
export default class SummaryReporter {
  onTestRunEnd(testModules) {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const skippedSuites = new Map();
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else {
          skipped++;
          const [suite, ...rest] = test.fullName.split(' > ');
          const key = `${mod.project.name}: ${suite}`;
          const names = skippedSuites.get(key) ?? [];
          names.push(rest.join(' > '));
          skippedSuites.set(key, names);
        }
      }
    }
    if (skippedSuites.size > 0) {
      process.stdout.write('\nSkipped:\n');
      for (const [suite, names] of skippedSuites) {
        // A whole suite skipped carries its reason in its name; a few skipped tests carry theirs.
        const detail = names.length <= 3 ? `: ${names.join('; ')}` : '';
        process.stdout.write(`  ${suite} (${names.length})${detail}\n`);
      }
    }
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
