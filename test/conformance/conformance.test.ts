/**
 * Every case under test/conformance/cases (translated from the upstream suites, plus the three
 * shared samples) is imported, compiled and judged by explain; the verdicts must equal the
 * expected ones exactly, probe by probe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { caseVerdicts, type ConformanceCase } from '../../src/core/k8s/verdicts';

const dir = path.join(__dirname, '..', '..', '..', 'test', 'conformance', 'cases');
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
  .sort();

test('there is a substantial set of cases', () => {
  assert.ok(files.length >= 60, `only ${files.length} cases`);
});

let totalProbes = 0;
let totalDenied = 0;
for (const file of files) {
  test(`conformance ${file.replace(/\.json$/, '')}`, () => {
    const testCase = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as ConformanceCase;
    const expected = JSON.parse(fs.readFileSync(path.join(dir, file.replace(/\.json$/, '.expected.json')), 'utf8')) as Array<{
      from: string;
      to: string;
      port: number;
      protocol: string;
      allowed: boolean;
    }>;
    const { verdicts, problems } = caseVerdicts(testCase);
    assert.deepEqual(problems, []);
    assert.equal(verdicts.length, expected.length);
    const wrong = verdicts
      .map((v, i) => ({ v, e: expected[i] }))
      .filter(
        ({ v, e }) => v.allowed !== e.allowed || v.from !== e.from || v.to !== e.to || v.port !== e.port || v.protocol !== e.protocol,
      );
    assert.deepEqual(
      wrong
        .slice(0, 5)
        .map(
          ({ v, e }) => `${v.from} -> ${v.to} ${v.protocol}/${v.port}: got ${v.allowed} (${v.egress}; ${v.ingress}), expected ${e.allowed}`,
        ),
      [],
      `${wrong.length} wrong verdicts`,
    );
    totalProbes += verdicts.length;
    totalDenied += verdicts.filter((v) => !v.allowed).length;
  });
}

test('the cases judge many probes, both ways', () => {
  assert.ok(totalProbes > 5000, `${totalProbes} probes`);
  assert.ok(totalDenied > 800, `${totalDenied} denied`);
});
