// Minimal types for sm-crypto 0.5.8 (it ships none): only what server/crypto uses.
declare module 'sm-crypto' {
  interface Sm2SignatureOptions {
    /** true: sign/verify e = SM3(Z_A ‖ M); false: the message is already e. */
    hash?: boolean;
    /** true: DER SEQUENCE { r, s } hex; false: r‖s as 128 hex digits. */
    der?: boolean;
    /** Defaults to the GM/T 0009 ID "1234567812345678". */
    userId?: string;
  }

  interface Sm2 {
    /** Returns the signature as hex. `privateKey` is 64 hex digits. */
    doSignature(
      message: string | ArrayLike<number>,
      privateKey: string,
      options?: Sm2SignatureOptions & { publicKey?: string },
    ): string;
    /** `publicKey` is 04‖x‖y hex. */
    doVerifySignature(
      message: string | ArrayLike<number>,
      signature: string,
      publicKey: string,
      options?: Sm2SignatureOptions,
    ): boolean;
    /** Returns 04‖x‖y hex. */
    getPublicKeyFromPrivateKey(privateKey: string): string;
  }

  interface SmCrypto {
    sm2: Sm2;
    /** SM3 of the bytes (strings are UTF-8 encoded), as 64 hex digits. */
    sm3(input: string | ArrayLike<number>): string;
  }

  const smCrypto: SmCrypto;
  export default smCrypto;
}
