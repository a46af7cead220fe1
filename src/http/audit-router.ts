import express, { type ErrorRequestHandler, type Router } from 'express';
import type { AuditExportFormat, AuditService } from '../app/audit/audit-service';
import type { ExpensiveQueryLimiter } from '../app/rate-limits';
import { badInput, KeyledgerError } from '../domain/errors';
import type { RouteHelpers } from './app';
import { translationOf } from '../error-table';

export const AUDIT_EXPORT_PATH = '/audit/export';

export interface AuditRouterOptions {
  audit: AuditService;
  expensiveQueries: ExpensiveQueryLimiter;
  reportError(error: unknown): void;
}

function instant(value: unknown, name: string): string | null {
  if (value === undefined || value === '') return null;
  const parsed = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(parsed.getTime())) throw badInput(`${name} must be an ISO-8601 instant`, name);
  return parsed.toISOString();
}

/**
 * `GET /audit/export?from&to&format=ndjson|csv[&tenantId]`: the caller's audit history,
 * streamed, with the bearer authentication and tenant rules of `auditLog`.
 */
export const auditRouter = (options: AuditRouterOptions) => (helpers: RouteHelpers): Router => {
  const router = express.Router();
  router.get(AUDIT_EXPORT_PATH, helpers.waitForStartup, async (req, res) => {
    const format = (req.query.format ?? 'ndjson') as AuditExportFormat;
    if (format !== 'ndjson' && format !== 'csv') throw badInput('format must be ndjson or csv', 'format');
    const from = instant(req.query.from, 'from');
    const to = instant(req.query.to, 'to');
    const tenantId = typeof req.query.tenantId === 'string' ? req.query.tenantId : null;
    const ctx = helpers.contextOf(req, res);
    // An export reads a whole history: it spends the credential's expensive-query budget.
    await options.expensiveQueries.chargePrincipal((await ctx.principal()).id);
    res.status(200);
    res.setHeader('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
    res.setHeader('content-disposition', `attachment; filename="audit.${format === 'csv' ? 'csv' : 'ndjson'}"`);
    res.setHeader('cache-control', 'no-store');
    // Authorization fails before the first write, so it still gets a status of its own.
    await options.audit.exportTo(ctx, { tenantId, from, to, format }, res);
    res.end();
  });

  const errors: ErrorRequestHandler = (error, _req, res, _next) => {
    // Once the body has started, a status can no longer say it failed: the cut-off stream (and
    // the missing signature line) does.
    if (res.headersSent) {
      options.reportError(error);
      res.destroy();
      return;
    }
    res.removeHeader('content-disposition');
    if (error instanceof KeyledgerError) {
      if (error.code === 'UNAUTHENTICATED') res.setHeader('www-authenticate', 'Bearer');
      if (error.code === 'RATE_LIMITED' && typeof error.details.retryAfter === 'number') res.setHeader('retry-after', String(error.details.retryAfter));
      const retryAfter = error.code === 'RATE_LIMITED' ? { retryAfter: error.details.retryAfter } : {};
      res.status(translationOf(error.code).httpStatus).json({ errors: [{ message: error.message, extensions: { code: error.code, ...retryAfter } }] });
      return;
    }
    options.reportError(error);
    res.status(500).json({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  };
  router.use(AUDIT_EXPORT_PATH, errors);
  return router;
};
