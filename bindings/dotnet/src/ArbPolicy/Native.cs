// The C ABI of include/arbpolicy.h, declared once for both runtimes: LibraryImport (source
// generated, no runtime marshalling) on .NET 7 and later, DllImport on Mono and older frameworks.
// Every parameter is a pointer, a SafeHandle or a primitive, so the two marshal identically; strings
// are converted to and from UTF-8 by the callers (Utf8).
using System;
using System.Runtime.InteropServices;

namespace ArbPolicy
{
    internal static unsafe partial class Native
    {
        /// <summary>The library's file name without prefix and suffix: libarbpolicy.so, arbpolicy.dll.</summary>
        internal const string Lib = "arbpolicy";

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        byte* arbp_version_string();

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        uint arbp_abi_version();

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        byte* arbp_status_str(int status);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        UIntPtr arbp_last_error(byte* buf, UIntPtr len);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_model_load_file(byte* path, out ModelHandle model);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_model_load_bytes(byte* bytes, UIntPtr len, out ModelHandle model);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        void arbp_model_free(IntPtr model);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_session_new(ModelHandle model, out SessionHandle session);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        void arbp_session_free(IntPtr session);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_decide(SessionHandle session, NativeRequest* request, Decision* decision);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_decide_json(SessionHandle session, byte* json, UIntPtr len, byte* output, UIntPtr cap, out UIntPtr needed);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_session_forward(SessionHandle session, float* obs, UIntPtr obsLen, byte* mask, float* logits, UIntPtr logitsLen, float* value);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_config_default(Config* config);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_config_validate(Config* config);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_action_mask(NativeRequest* request, byte* mask, UIntPtr maskLen);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_position_size(Config* config, double availableCapital, uint tier, double* sizeUsd, double* leverage);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        Status arbp_liquidation_prices(double longEntry, double shortEntry, double leverage, double* longLiquidation, double* shortLiquidation);

#if NET7_0_OR_GREATER
        [LibraryImport(Lib)] internal static partial
#else
        [DllImport(Lib)] internal static extern
#endif
        byte* arbp_action_name(uint index);
    }

    /// <summary>An owned arbp_model; freed by the runtime when released.</summary>
    public sealed class ModelHandle : SafeHandle
    {
        /// <summary>An empty handle, for the runtime to fill.</summary>
        public ModelHandle() : base(IntPtr.Zero, true) { }

        /// <inheritdoc/>
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        /// <inheritdoc/>
        protected override bool ReleaseHandle()
        {
            Native.arbp_model_free(handle);
            return true;
        }
    }

    /// <summary>An owned arbp_session; freed by the runtime when released.</summary>
    public sealed class SessionHandle : SafeHandle
    {
        /// <summary>An empty handle, for the runtime to fill.</summary>
        public SessionHandle() : base(IntPtr.Zero, true) { }

        /// <inheritdoc/>
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        /// <inheritdoc/>
        protected override bool ReleaseHandle()
        {
            Native.arbp_session_free(handle);
            return true;
        }
    }
}
