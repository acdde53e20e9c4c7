/**
 * @peculiar/x509, behind the Reflect polyfill its dependency injection (tsyringe) needs at load.
 * Import it from here only: an import of '@peculiar/x509' evaluated before 'reflect-metadata'
 * throws at start.
 */
import 'reflect-metadata';

export * from '@peculiar/x509';
