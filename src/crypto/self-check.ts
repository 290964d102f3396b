/**
 * The start-up probe that tells whether an Ed25519 backend computes rule 5
 * of the Parley signature rule (`protocols/signatures`): the cofactorless
 * equation. These are the cases of that spec's vectors that pass rules 1-4
 * (lengths, canonical encodings, no small order, reduced S) and so reach the
 * backend; a cofactored library disagrees on the mixed-order ones. They are
 * part of the code, not read from the vectors file at run time;
 * `test/crypto/signatures.spec.ts` checks they are exactly those vectors.
 */

/** One probe: hex inputs and the verdict the rule gives. */
export interface EquationCase {
  /** The vector's name in `protocols/signatures/vectors.json`. */
  readonly name: string
  /** 32-byte public key, hex. */
  readonly publicKey: string
  /** The signed message, hex. */
  readonly message: string
  /** 64-byte signature, hex. */
  readonly signature: string
  /** Whether the Parley rule accepts it. */
  readonly valid: boolean
}

/** Every vector of the rule that reaches the equation (rules 1-4 pass). */
export const EQUATION_CASES: readonly EquationCase[] = [
  {
    name: 'valid',
    publicKey: '73f5f390d786d4bbec67540bcee17edc5d3f2e483efbe8a3dcf37d16a02b3bc6',
    message: '7061726c6579207369676e61747572652072756c65',
    signature: 'de78a46b48dc81c241bd191f5715ded82a58f08b9e36545d4f97a15520890b9c15de4f9c4453568ab7d0fe82fa352f7e2cb00b72fc9e5f5c221329665e24a302',
    valid: true
  },
  {
    name: 'valid-empty-message',
    publicKey: '73f5f390d786d4bbec67540bcee17edc5d3f2e483efbe8a3dcf37d16a02b3bc6',
    message: '',
    signature: 'cf4b433d726c39c1bd935f6c16b73aec8ad7380f412d2b54581eaf3b35760c99cee556c1c86171a5713f9c1fd27346c88d232785da7447c8fcc030e11a9c640b',
    valid: true
  },
  {
    name: 'wrong-r',
    publicKey: '73f5f390d786d4bbec67540bcee17edc5d3f2e483efbe8a3dcf37d16a02b3bc6',
    message: '7061726c6579207369676e61747572652072756c65',
    signature: 'df78a46b48dc81c241bd191f5715ded82a58f08b9e36545d4f97a15520890b9c15de4f9c4453568ab7d0fe82fa352f7e2cb00b72fc9e5f5c221329665e24a302',
    valid: false
  },
  {
    name: 'wrong-message',
    publicKey: '73f5f390d786d4bbec67540bcee17edc5d3f2e483efbe8a3dcf37d16a02b3bc6',
    message: '7061726c6579207369676e61747572652072756c66',
    signature: 'de78a46b48dc81c241bd191f5715ded82a58f08b9e36545d4f97a15520890b9c15de4f9c4453568ab7d0fe82fa352f7e2cb00b72fc9e5f5c221329665e24a302',
    valid: false
  },
  {
    name: 'mixed-order-r',
    publicKey: '73f5f390d786d4bbec67540bcee17edc5d3f2e483efbe8a3dcf37d16a02b3bc6',
    message: '7061726c6579207369676e61747572652072756c65',
    signature: '6a84d583f06569edb3f5ed77df65544b27d6948b4f0b2cb76f33dd8413b207197600f54a3d3559f8cea62b31677e2e1a280d84e069c75abcd66c47249bf0c30e',
    valid: false
  },
  {
    name: 'mixed-order-public-key',
    publicKey: 'd9ff750d7c200c274b73e8dc3e43f63095cd97af8c24a5c87e2ebac580404f17',
    message: '6d697865642d6f72646572206b6579206d6573736167652030',
    signature: '7db0dc9222f3c183457ddde4c708de8e5ea6bf3d5c4404cca14b32729a05c32a8e7182bade91162257091b588ed560fe198abe6bb849483c8ef3d8f264d58904',
    valid: false
  },
  {
    name: 'mixed-order-public-key-k-multiple-of-8',
    publicKey: 'd9ff750d7c200c274b73e8dc3e43f63095cd97af8c24a5c87e2ebac580404f17',
    message: '6d697865642d6f72646572206b6579206d657373616765203135',
    signature: '7db0dc9222f3c183457ddde4c708de8e5ea6bf3d5c4404cca14b32729a05c32ac6738da62a1a89b1e1309aa7fc87fd84d05cc05d43fc33ec58c820ceeb3ff00b',
    valid: true
  },
  {
    name: 'r-not-on-curve',
    publicKey: '73f5f390d786d4bbec67540bcee17edc5d3f2e483efbe8a3dcf37d16a02b3bc6',
    message: '7061726c6579207369676e61747572652072756c65',
    signature: '020000000000000000000000000000000000000000000000000000000000000015de4f9c4453568ab7d0fe82fa352f7e2cb00b72fc9e5f5c221329665e24a302',
    valid: false
  }
]
