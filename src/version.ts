export const TENET_VERSION = '0.1.0';
