// The controller process's public face: what `revisor controller` starts.
export { type ApiServerAccess, defaultAccess } from '../api/index.js';
export { Controller, type ControllerConfig } from './controller.js';
