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
          const suite = test.fullName.split(' > ')[0];
          const key = `${mod.project.name}: ${suite}`;
          skippedSuites.set(key, (skippedSuites.get(key) ?? 0) + 1);
        }
      }
    }
    if (skippedSuites.size > 0) {
      process.stdout.write('\nSkipped:\n');
      for (const [suite, count] of skippedSuites) process.stdout.write(`  ${suite} (${count})\n`);
    }
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
