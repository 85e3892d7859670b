import { defineConfig } from 'vitepress';

// The site npm run docs builds (docs/.vitepress/dist). Dead internal links fail the build;
// test/integration/docs.test.ts checks anchors and coverage on top.
export default defineConfig({
  title: 'revisor',
  description:
    'Safe, reversible PostgreSQL schema migrations: an Alembic-compatible CLI and a Kubernetes operator',
  cleanUrls: true,
  lastUpdated: false,
  themeConfig: {
    search: { provider: 'local' },
    nav: [
      { text: 'Get started', link: '/getting-started' },
      { text: 'CLI', link: '/cli' },
      { text: 'Operator', link: '/operator' },
      { text: 'Troubleshooting', link: '/troubleshooting' },
    ],
    sidebar: [
      {
        text: 'Start',
        items: [
          { text: 'Getting started', link: '/getting-started' },
          { text: 'Coming from Alembic', link: '/alembic' },
        ],
      },
      {
        text: 'Migrations',
        items: [
          { text: 'Writing migrations', link: '/writing-migrations' },
          { text: 'Lint', link: '/lint' },
          { text: 'Zero-downtime deploys', link: '/zero-downtime' },
          { text: 'CLI reference', link: '/cli' },
        ],
      },
      {
        text: 'Kubernetes',
        items: [
          { text: 'The operator', link: '/operator' },
          { text: 'CRD reference', link: '/crd' },
          { text: 'Deploying with Helm', link: '/helm' },
          { text: 'Fleets', link: '/fleets' },
          { text: 'Security model', link: '/security' },
          { text: 'Observability', link: '/observability' },
        ],
      },
      {
        text: 'Reference',
        items: [
          { text: 'Troubleshooting by error code', link: '/troubleshooting' },
          { text: 'How a run works', link: '/how-it-works' },
          { text: 'Benchmarks', link: '/benchmarks' },
          { text: 'Tests and contributing', link: '/contributing' },
        ],
      },
    ],
  },
});
