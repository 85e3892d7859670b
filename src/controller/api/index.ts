export { type ApiServerAccess, defaultAccess, inClusterAccess, kubeconfigAccess } from './access.js';
export { ApiClient, type Query, type WatchHandle } from './api-client.js';
export { apiPaths } from './paths.js';
