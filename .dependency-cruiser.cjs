/**
 * Dependency rules for src/ (docs/development.md says why each exists). Run by `npm run lint`.
 * Known violations that a refactor in progress will remove are listed in
 * .dependency-cruiser-known-violations.json, so they are reported as warnings while anything new fails.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means neither module can be understood, tested or changed on its own.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/domain holds the rules and views of a request: no database, no Slack, no I/O, nothing outside src/domain.',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/' },
    },
    {
      name: 'block-kit-builders-are-pure',
      severity: 'error',
      comment:
        'Block Kit builders in src/slack/blocks turn domain views into Slack messages: they may use src/domain, each other, and the Block Kit types of @slack/* (type-only), nothing else.',
      from: { path: '^src/slack/blocks/' },
      to: {
        pathNot: ['^src/domain/', '^src/slack/blocks/', '^node_modules/@slack/'],
      },
    },
    {
      name: 'block-kit-builders-use-only-slack-types',
      severity: 'error',
      comment: 'Builders may import @slack/* for its Block Kit types only (import type), never the clients.',
      from: { path: '^src/slack/blocks/' },
      to: { path: '^node_modules/@slack/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'src-does-not-import-tests',
      severity: 'error',
      comment: 'Production code never depends on test code or fixtures.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    // Type-only imports are still design dependencies: a builder that imports a service's type is coupled to it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], mainFields: ['main', 'types', 'typings'] },
  },
};
