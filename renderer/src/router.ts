import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/runs' },
  { path: '/runs', name: 'runs', component: () => import('./views/RunsView.vue') },
  { path: '/new', name: 'new-run', component: () => import('./views/NewRunView.vue') },
  {
    path: '/runs/:id(\\d+)',
    name: 'run',
    component: () => import('./views/RunDetailView.vue'),
    props: (route) => ({ id: Number(route.params.id) }),
  },
  {
    path: '/compare',
    name: 'compare',
    component: () => import('./views/CompareView.vue'),
    // ?ids=1,2,3, and optionally the metric the curves show first: &metric=train_loss
    props: (route) => ({
      ids: String(route.query.ids ?? '')
        .split(',')
        .filter((s) => /^\d+$/.test(s))
        .map(Number),
      metric: typeof route.query.metric === 'string' ? route.query.metric : undefined,
    }),
  },
  { path: '/sweeps', name: 'sweeps', component: () => import('./views/SweepsView.vue') },
  {
    path: '/sweeps/:id(\\d+)',
    name: 'sweep',
    component: () => import('./views/SweepView.vue'),
    props: (route) => ({ id: Number(route.params.id) }),
  },
  { path: '/retrieval', name: 'retrieval', component: () => import('./views/RetrievalView.vue') },
  { path: '/map', name: 'map', component: () => import('./views/MapView.vue') },
  { path: '/review', name: 'review', component: () => import('./views/ReviewView.vue') },
  { path: '/datasets', name: 'datasets', component: () => import('./views/DatasetsView.vue') },
  {
    path: '/datasets/:id(\\d+)',
    name: 'dataset',
    component: () => import('./views/DatasetsView.vue'),
    props: (route) => ({ selected: Number(route.params.id) }),
  },
  { path: '/welcome', name: 'welcome', component: () => import('./views/FirstRunView.vue') },
  { path: '/:rest(.*)*', redirect: '/runs' },
];

/** Hash history: works from svw:// in Electron and from `svw serve` without server routes. */
export function makeRouter() {
  return createRouter({ history: createWebHashHistory(), routes });
}
