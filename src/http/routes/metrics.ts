import type { ServerMetrics } from '../../metrics/server-metrics.js';
import type { Route } from '../router.js';

export function metricsRoutes(metrics: ServerMetrics): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      handler: async () => {
        const { contentType, body } = await metrics.render();
        return { status: 200, contentType, body };
      },
    },
  ];
}
