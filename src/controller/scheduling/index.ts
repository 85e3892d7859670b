// The controller process's public face: what `revisor controller` starts.
export { Controller, type ControllerConfig } from './controller.js';
