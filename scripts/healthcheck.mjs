// The container's health command (Dockerfile HEALTHCHECK, compose, Kubernetes exec probes where HTTP probes are not
// possible): exits 0 when GET /healthz on this container's PORT answers 2xx within the timeout, 1 otherwise, with one
// line saying why. The slim image has no curl or wget. Usage: node scripts/healthcheck.mjs [/readyz]
const port = process.env.PORT || '3000';
const path = process.argv[2] || '/healthz';
const url = `http://127.0.0.1:${port}${path}`;
// Below the HEALTHCHECK's own --timeout (5s), so a hung process is reported by this script rather than killed.
const timeoutMs = 3_000;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) {
    console.error(`healthcheck: ${url} answered ${response.status}`);
    process.exit(1);
  }
  process.exit(0);
} catch (error) {
  const why = error?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (error?.cause?.code ?? error?.message ?? String(error));
  console.error(`healthcheck: ${url} failed: ${why}`);
  process.exit(1);
}
