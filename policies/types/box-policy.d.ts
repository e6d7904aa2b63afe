// Generated from policies/wit/policy.wit by build/policy-types.mjs: do not edit.
/// <reference path="./interfaces/box-policy-admission.d.ts" />
declare module 'box:policy/policy@0.2.0' {
  export * as admission from 'box:policy/admission@0.2.0'; // export box:policy/admission@0.2.0
}
