import type { ApolloServerPlugin } from '@apollo/server';

/**
 * Apollo's landing pages load their code from a CDN, which a locked-down network cannot
 * reach. This page is one self-contained document: a query editor that posts to /graphql.
 */
export const LANDING_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keyledger GraphQL</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; display: grid; grid-template-rows: auto 1fr; height: 100vh; }
  header { padding: 8px 16px; background: #1d2330; color: #fff; display: flex; gap: 12px; align-items: center; }
  header h1 { font-size: 16px; margin: 0; }
  header a { color: #fff; }
  header input { flex: 1; padding: 4px 8px; font: inherit; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; padding: 8px; min-height: 0; }
  section { display: grid; grid-template-rows: 2fr auto 1fr; gap: 4px; min-height: 0; }
  textarea, pre { font: 13px/1.4 ui-monospace, monospace; border: 1px solid #ccc; padding: 8px; margin: 0; overflow: auto; }
  pre { background: #f6f8fa; white-space: pre-wrap; }
  button { padding: 4px 16px; font: inherit; cursor: pointer; }
</style>
</head>
<body>
<header>
  <h1>keyledger</h1>
  <a href="/console">Console</a>
  <input id="bearer" type="password" placeholder="Bearer token (kept in this tab only)" autocomplete="off">
  <button id="run" title="Ctrl+Enter">Run</button>
</header>
<main>
  <section>
    <textarea id="query" spellcheck="false" aria-label="Query">query {
  viewer { id tenantId roles }
}</textarea>
    <label for="variables">Variables (JSON)</label>
    <textarea id="variables" spellcheck="false">{}</textarea>
  </section>
  <pre id="result" aria-live="polite">Press Run (Ctrl+Enter) to send the query.</pre>
</main>
<script>
  const $ = (id) => document.getElementById(id);
  async function run() {
    let variables;
    try { variables = JSON.parse($('variables').value || '{}'); } catch (e) { $('result').textContent = 'Variables are not valid JSON: ' + e.message; return; }
    const headers = { 'content-type': 'application/json' };
    if ($('bearer').value) headers.authorization = 'Bearer ' + $('bearer').value.trim();
    $('result').textContent = '…';
    try {
      const response = await fetch(location.pathname, { method: 'POST', headers, body: JSON.stringify({ query: $('query').value, variables }) });
      $('result').textContent = 'HTTP ' + response.status + '\\n' + JSON.stringify(await response.json(), null, 2);
    } catch (e) { $('result').textContent = 'Request failed: ' + e.message; }
  }
  $('run').addEventListener('click', run);
  document.addEventListener('keydown', (e) => { if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') run(); });
</script>
</body>
</html>
`;

export function offlineLandingPage(): ApolloServerPlugin {
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          return { html: LANDING_PAGE_HTML };
        },
      };
    },
  };
}
