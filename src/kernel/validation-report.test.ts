import { describe, expect, it } from 'vitest';
import { ValidationReport } from './validation-report.js';

describe('ValidationReport', () => {
  it('keeps findings in the order their checks started, whichever ends first', () => {
    const report = new ValidationReport();
    report.pass('v', 'files');
    report.start('v', 'transformers.js');
    report.start('v', 'layer sample');
    report.pass('v', 'layer sample');
    report.warn('v', 'tokenizer', 'slow'); // never started: placed when it ends
    report.pass('v', 'transformers.js');
    report.pass('v', 'memory');
    expect(report.findings.map((f) => f.check)).toEqual(['files', 'transformers.js', 'layer sample', 'tokenizer', 'memory']);
  });

  it('orders a check that starts again after it ended by its second start', () => {
    const report = new ValidationReport();
    report.start('v', 'a');
    report.pass('v', 'a');
    report.start('v', 'b');
    report.start('v', 'a');
    report.pass('v', 'b');
    report.fail('v', 'a', 'again');
    expect(report.findings.map((f) => `${f.check}:${f.status}`)).toEqual(['a:pass', 'b:pass', 'a:fail']);
    expect(report.passed).toBe(false);
  });
});
