#!/usr/bin/python3
"""Cross-checks src/graphql against graphql-core (Debian's python3-graphql-core).

Run by hand after building the unit tests:
    make -j2 build/tests/test_graphql_exec
    /usr/bin/python3 scripts/graphql_crosscheck.py [build/tests/test_graphql_exec]

The test program, with GANTRY_GQL_DUMP=DIR, writes the answer to the standard
introspection query over its fixture schema, the schema's SDL, and its verdict
on each document of DIR/documents.json. This script checks that graphql-core
builds a client schema from the introspection answer, that the SDL describes
the same schema, and that both validators agree on which documents are valid.
Not part of `make check`: it is a conformance probe, run when the module changes.
"""
import json
import os
import subprocess
import sys
import tempfile

import graphql
from graphql.utils.schema_printer import print_schema

# (document, note): the note explains an expected disagreement, else None.
DOCUMENTS = [
    ('{ gpus { id uuid name status host { hostname } } }', None),
    ('query Q($u: String!) { gpu(uuid: $u) { telemetry(limit: 3, order: ASC) '
     '{ timestamp utilization } } }', None),
    ('{ things { __typename ... on GPU { uuid } ...H } } '
     'fragment H on Host { hostname gpus { index } }', None),
    ('mutation($in: TaskInput!) { submitTask(input: $in) { id } }', None),
    ('{ echo(s: "a", i: -5, f: 1, b: true, id: 7, e: ASC, l: 3, '
     'in: {command: ["x"], labels: {key: "k"}}) }', None),
    ('{ echo(s: """block\n  string""") }',
     'block strings came in the June 2018 edition; graphql-core 2.3.2 '
     'predates them'),
    ('query($b: Boolean!) { gpus @include(if: $b) { uuid @skip(if: false) } }',
     None),
    ('{ __schema { types { name kind } } __type(name: "GPU") { fields '
     '{ name } } }', None),
    ('{ gpus { nope } }', None),
    ('{ gpus }', None),
    ('{ gpus { uuid { x } } }', None),
    ('{ gpu { id } }', None),
    ('{ echo(i: "3") }', None),
    ('{ echo(i: 3000000000) }', None),
    ('{ echo(e: "ASC") }', None),
    ('{ echo(in: {command: ["a"], nope: 1}) }', None),
    ('{ echo(in: {gpus: 1}) }', None),
    ('{ gpus { ...F } }', None),
    ('{ gpus { id } } fragment F on GPU { id }', None),
    ('{ gpus { ...A } } fragment A on GPU { ...A }', None),
    ('{ gpus { ...A } } fragment A on GPU { host { gpus { ...B } } } '
     'fragment B on GPU { ...A }', None),
    ('{ gpus { ... on Host { id } } }', None),
    ('{ gpu(uuid: $u) { id } }', None),
    ('query($u: String!) { gpus { id } }', None),
    ('query($u: String) { gpu(uuid: $u) { id } }', None),
    ('query($u: GPU) { echo(s: $u) }', None),
    ('{ gpus @nope { id } }', None),
    ('query @skip(if: true) { gpus { id } }', None),
    ('query Q { gpus { id } } query Q { hosts { id } }', None),
    ('{ gpus { id } } query Q { hosts { id } }', None),
    ('{ a: gpus { uuid } a: hosts { id } }', None),
    ('{ gpus(limit: 1) { id } gpus(limit: 2) { id } }', None),
    ('{ gpus { id }', None),
    ('{ a(x: 012) }', None),
    ('query($n: Int) { gpu(uuid: "x") { telemetry(limit: $n) { timestamp } } }',
     None),
]


def without_descriptions(sdl):
    """Our SDL with its descriptions left out: graphql-core 2.3.2 reads the
    schema language of 2016, before descriptions. Ours stand on lines of
    their own, as a "string" or a block between two lines of three quotes."""
    out, in_block = [], False
    for line in sdl.splitlines():
        text = line.strip()
        if text == '"""':
            in_block = not in_block
        elif not in_block and not text.startswith('"'):
            out.append(line)
    return '\n'.join(out)


def same_location(ours, theirs):
    """Whether some error of ours stands where some error of theirs does."""
    mine = {(loc['line'], loc['column'])
            for e in ours for loc in e.get('locations', [])}
    for e in theirs:
        for loc in getattr(e, 'locations', None) or []:
            if (loc.line, loc.column) in mine:
                return True
    return False


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else 'build/tests/test_graphql_exec'
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, 'documents.json'), 'w') as f:
            json.dump([d for d, _ in DOCUMENTS], f)
        env = dict(os.environ, GANTRY_GQL_DUMP=tmp)
        subprocess.run([binary], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(os.path.join(tmp, 'introspection.json')) as f:
            introspection = json.load(f)
        with open(os.path.join(tmp, 'schema.graphql')) as f:
            sdl = f.read()
        with open(os.path.join(tmp, 'verdicts.json')) as f:
            verdicts = json.load(f)

    client = graphql.build_client_schema(introspection['data'])
    print('build_client_schema: ok, %d types' % len(client.get_type_map()))
    # graphql-core 2.3.2 wants the schema block that later editions imply.
    roots = 'schema { query: Query mutation: Mutation }\n'
    from_sdl = graphql.build_ast_schema(
        graphql.parse(roots + without_descriptions(sdl)))
    # @specifiedBy (2021) is built in for us, a custom directive for 2.3.2.
    newer = 'directive @specifiedBy(url: String!) on SCALAR\n\n'
    same = print_schema(client).replace(newer, '') == print_schema(from_sdl)
    print('SDL and introspection describe the same schema: %s' % same)
    if not same:
        import difflib
        sys.stdout.writelines(difflib.unified_diff(
            print_schema(from_sdl).splitlines(True),
            print_schema(client).replace(newer, '').splitlines(True), 'sdl',
            'introspection'))

    agree = expected = both_invalid = same_place = 0
    failures = []
    for (doc, note), ours in zip(DOCUMENTS, verdicts):
        try:
            theirs = graphql.validate(client, graphql.parse(doc))
        except graphql.GraphQLError as e:
            theirs = [e]
        except RecursionError:
            # graphql-core 2.3.2 recurses forever on a fragment spreading
            # itself (its overlap rule runs before its cycle rule).
            theirs = ['RecursionError']
        if bool(ours) == bool(theirs):
            agree += 1
            if ours:
                both_invalid += 1
                same_place += same_location(ours, theirs)
        elif note:
            expected += 1
            print('expected difference: %r (%s)' % (doc, note))
        else:
            failures.append((doc, ours, [str(e) for e in theirs]))
    print('validation: %d of %d documents agree, %d expected differences'
          % (agree, len(DOCUMENTS), expected))
    print('invalid in both: %d, with an error at the same place: %d'
          % (both_invalid, same_place))
    for doc, ours, theirs in failures:
        print('DISAGREE %r\n  ours:   %s\n  theirs: %s' % (doc, ours, theirs))
    return 0 if same and not failures else 1


if __name__ == '__main__':
    sys.exit(main())
