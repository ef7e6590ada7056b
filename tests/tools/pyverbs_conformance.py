#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Run rdma-core's pyverbs test suite against one device and judge it.

The suite (Debian ships it gzipped in /usr/share/doc/rdma-core/tests) is
copied and unpacked by the caller; this runner imports it the way its own
run_tests.py does, runs the given modules and records every test's outcome
by its id (<module>.<Class>.<method>).  It then checks, and exits 1 when
any check fails:

  * every id of each --must-pass list passed;
  * no test ended in ERROR or FAIL (or unexpected success);
  * every skipped test is listed in --known-skips (id, then its reason for
    a reader), so no skip goes unexplained;
  * an ERROR is accepted only where --known-errors lists the test with
    the exact error it must end in (id, then that text): a documented
    deviation that cannot be fixed in srxe, reported on every run, and a
    failure again as soon as the test errs differently.

Listed skips that passed are reported, not failed: the host may have what
they need (huge pages, say).
"""
import argparse
import io
import os
import sys
import unittest
from importlib.machinery import SourceFileLoader


def read_list(path):
    """(id, rest of the line) of a list file; # starts a comment line."""
    entries = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                tid, _, rest = line.partition(' ')
                entries.append((tid, rest.strip()))
    return entries


def read_ids(path):
    return [tid for tid, _ in read_list(path)]


class RecordingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcome = {}

    @staticmethod
    def short_id(test):
        tid = test.id()
        return tid[len('tests.'):] if tid.startswith('tests.') else tid

    def addSuccess(self, test):
        super().addSuccess(test)
        self.outcome[self.short_id(test)] = 'ok'

    def addError(self, test, err):
        super().addError(test, err)
        self.outcome[self.short_id(test)] = 'ERROR: ' + str(err[1])

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.outcome[self.short_id(test)] = 'FAIL'

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.outcome[self.short_id(test)] = 'skipped: ' + reason

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.outcome[self.short_id(test)] = 'FAIL (unexpected success)'


def load_suite(suite_dir, dev, gid, modules):
    tests_dir = os.path.join(suite_dir, 'tests')
    sys.path[:0] = [suite_dir, tests_dir]
    from args_parser import parser  # the suite's own configuration
    sys.argv[1:] = ['--dev', dev, '--gid', str(gid)]
    parser.parse_args()
    pkg = SourceFileLoader('tests', os.path.join(tests_dir,
                                                 '__init__.py')).load_module()
    return unittest.defaultTestLoader.loadTestsFromNames(modules, pkg)


def judge(outcome, must_pass, known_skips, known_errors):
    problems = []
    for tid in must_pass:
        got = outcome.get(tid, 'not run')
        if got != 'ok':
            problems.append(f'{tid}: must pass, got {got}')
    for tid, got in sorted(outcome.items()):
        if tid in known_errors and got == 'ERROR: ' + known_errors[tid]:
            print(f'known deviation: {tid}: {got}')
        elif got.startswith(('ERROR', 'FAIL')):
            problems.append(f'{tid}: {got}')
        elif got.startswith('skipped') and tid not in known_skips:
            problems.append(f'{tid}: {got} (not in the known skips)')
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--suite', required=True,
                    help='directory holding the unpacked tests/ package')
    ap.add_argument('--dev', required=True)
    ap.add_argument('--gid', type=int, default=1)
    ap.add_argument('--must-pass', action='append', default=[])
    ap.add_argument('--known-skips', required=True)
    ap.add_argument('--known-errors',
                    help='tests that end in a documented error, with it')
    ap.add_argument('--results', help='write "<id> <outcome>" lines here')
    ap.add_argument('modules', nargs='+')
    args = ap.parse_args()

    must_pass = [t for path in args.must_pass for t in read_ids(path)]
    known_skips = set(read_ids(args.known_skips))
    known_errors = dict(read_list(args.known_errors)) if args.known_errors \
        else {}
    suite = load_suite(args.suite, args.dev, args.gid, args.modules)
    log = io.StringIO()
    runner = unittest.TextTestRunner(stream=log, verbosity=2,
                                     resultclass=RecordingResult)
    result = runner.run(suite)
    outcome = result.outcome
    if args.results:
        with open(args.results, 'w') as f:
            for tid, got in sorted(outcome.items()):
                f.write(f'{tid} {got}\n')

    counts = {}
    for got in outcome.values():
        key = got.split(':')[0].split(' ')[0]
        counts[key] = counts.get(key, 0) + 1
    print(f'pyverbs on {args.dev}: {len(outcome)} ran, ' +
          ', '.join(f'{n} {k}' for k, n in sorted(counts.items())))
    stale = sorted(t for t in known_skips if outcome.get(t) == 'ok')
    for tid in stale:
        print(f'note: {tid} is listed as a known skip but passed here')
    problems = judge(outcome, must_pass, known_skips, known_errors)
    if problems:
        print(log.getvalue())
        for p in problems:
            print('FAIL:', p)
        return 1
    print(f'all {len(must_pass)} must-pass tests passed; no ERROR or FAIL '
          f'but the known deviations; every skip is a known one')
    return 0


if __name__ == '__main__':
    sys.exit(main())
