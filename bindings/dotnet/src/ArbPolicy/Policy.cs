// Models, sessions and the library's helpers: the idiomatic face of the C ABI.
using System;
using System.Text;

namespace ArbPolicy
{
    /// <summary>A call into the engine failed: the status and the library's detailed message.</summary>
    public sealed class ArbPolicyException : Exception
    {
        /// <summary>The status the library returned.</summary>
        public Status Status { get; private set; }

        /// <summary>The library's message for the calling thread's last failure.</summary>
        public string Detail { get; private set; }

        internal ArbPolicyException(Status status, string detail)
            : base(Library.StatusText(status) + ": " + detail)
        {
            Status = status;
            Detail = detail;
        }
    }

    /// <summary>Turns statuses into exceptions, reading the message on the thread that failed.</summary>
    internal static unsafe class Errors
    {
        internal static void Check(Status status)
        {
            if (status != Status.Ok) throw new ArbPolicyException(status, LastError());
        }

        /// <summary>As <see cref="Check(Status)"/>, releasing the handle a failed call left empty.</summary>
        internal static void Check(Status status, System.Runtime.InteropServices.SafeHandle handle)
        {
            if (status == Status.Ok) return;
            string detail = LastError();
            handle.Dispose();
            throw new ArbPolicyException(status, detail);
        }

        internal static string LastError()
        {
            int needed = (int)Native.arbp_last_error(null, UIntPtr.Zero);
            byte[] buf = new byte[Math.Max(needed, 1)];
            fixed (byte* p = buf)
            {
                Native.arbp_last_error(p, (UIntPtr)buf.Length);
                return Utf8.Read(p, buf.Length);
            }
        }
    }

    /// <summary>Version, helpers and risk math that need no model.</summary>
    public static unsafe class Library
    {
        /// <summary>The ABI version this binding was written for (ARBP_ABI_VERSION of the header).</summary>
        public const uint BindingAbiVersion = 2;

        /// <summary>Number of actions.</summary>
        public const int ActionCount = Decision.ActionCount;

        /// <summary>Number of observation features.</summary>
        public const int ObservationLength = 275;

        /// <summary>Bytes that always hold a JSON decision with its NUL (ARBP_DECISION_JSON_MAX).</summary>
        public const int DecisionJsonMax = 4096;

        /// <summary>The library's version, e.g. 0.1.0.</summary>
        public static string Version { get { return Utf8.FromStatic(Native.arbp_version_string()); } }

        /// <summary>The loaded library's ABI version.</summary>
        public static uint AbiVersion { get { return Native.arbp_abi_version(); } }

        /// <summary>Throws when the loaded library speaks another ABI than this binding.</summary>
        public static void CheckAbi()
        {
            uint loaded = AbiVersion;
            if (loaded != BindingAbiVersion)
                throw new InvalidOperationException("libarbpolicy speaks ABI " + loaded + ", this binding ABI " + BindingAbiVersion);
        }

        /// <summary>The library's static text for a status.</summary>
        public static string StatusText(Status status)
        {
            return Utf8.FromStatic(Native.arbp_status_str((int)status));
        }

        /// <summary>The name of action <paramref name="index"/>, e.g. EXIT_POS_2.</summary>
        public static string ActionName(int index)
        {
            string name = index < 0 ? null : Utf8.FromStatic(Native.arbp_action_name((uint)index));
            if (name == null) throw new ArgumentOutOfRangeException("index", index, "actions are 0 to " + (ActionCount - 1));
            return name;
        }

        /// <summary>Size and leverage of an entry of <paramref name="tier"/> (0 small, 1 medium, 2 large).</summary>
        public static double PositionSize(Config config, double availableCapital, int tier, out double leverage)
        {
            if (tier < 0) throw new ArgumentOutOfRangeException("tier", tier, "tiers are 0, 1 and 2");
            double size, lev;
            Errors.Check(Native.arbp_position_size(&config, availableCapital, (uint)tier, &size, &lev));
            leverage = lev;
            return size;
        }

        /// <summary>Liquidation prices of the long and short legs at <paramref name="leverage"/>.</summary>
        public static void LiquidationPrices(double longEntry, double shortEntry, double leverage, out double longLiquidation, out double shortLiquidation)
        {
            double l, s;
            Errors.Check(Native.arbp_liquidation_prices(longEntry, shortEntry, leverage, &l, &s));
            longLiquidation = l;
            shortLiquidation = s;
        }

        /// <summary>The actions the risk limits allow for this book (true allowed).</summary>
        public static bool[] ActionMask(Opportunity[] opportunities, Position[] positions, Portfolio portfolio, Config config, long nowMs)
        {
            Requests.CheckArrays(opportunities, positions);
            byte* mask = stackalloc byte[ActionCount];
            fixed (Opportunity* o = opportunities)
            fixed (Position* p = positions)
            {
                NativeRequest request = Requests.Make(o, opportunities.Length, p, positions.Length, portfolio, config, nowMs, null);
                Errors.Check(Native.arbp_action_mask(&request, mask, (UIntPtr)ActionCount));
            }
            bool[] allowed = new bool[ActionCount];
            for (int i = 0; i < ActionCount; i++) allowed[i] = mask[i] != 0;
            return allowed;
        }
    }

    /// <summary>Builds an arbp_request over caller arrays the caller keeps pinned for the call.</summary>
    internal static unsafe class Requests
    {
        internal static void CheckArrays(Opportunity[] opportunities, Position[] positions)
        {
            if (opportunities == null) throw new ArgumentNullException("opportunities");
            if (positions == null) throw new ArgumentNullException("positions");
        }

        internal static NativeRequest Make(Opportunity* opportunities, int opportunityCount, Position* positions, int positionCount, Portfolio portfolio, Config config, long nowMs, ulong? sampleSeed)
        {
            return new NativeRequest
            {
                StructSize = (uint)sizeof(NativeRequest),
                Opportunities = opportunities,
                OpportunityCount = (UIntPtr)opportunityCount,
                Positions = positions,
                PositionCount = (UIntPtr)positionCount,
                Portfolio = portfolio,
                Config = config,
                NowMs = nowMs,
                Sample = sampleSeed.HasValue ? (byte)1 : (byte)0,
                SampleSeed = sampleSeed.GetValueOrDefault(),
            };
        }
    }

    /// <summary>
    /// A policy loaded once (ONNX or the native weights artifact, told apart by content) and shared by
    /// every thread. Each thread opens its own <see cref="PolicySession"/>.
    /// </summary>
    public sealed unsafe class PolicyModel : IDisposable
    {
        private readonly ModelHandle handle;

        private PolicyModel(ModelHandle handle)
        {
            this.handle = handle;
        }

        /// <summary>Load a model file.</summary>
        public static PolicyModel Load(string path)
        {
            if (path == null) throw new ArgumentNullException("path");
            Library.CheckAbi();
            byte[] text = Utf8.Terminated(path);
            ModelHandle handle;
            Status status;
            fixed (byte* p = text) status = Native.arbp_model_load_file(p, out handle);
            return Loaded(status, handle);
        }

        /// <summary>Load a model from its bytes.</summary>
        public static PolicyModel FromBytes(byte[] bytes)
        {
            if (bytes == null) throw new ArgumentNullException("bytes");
            Library.CheckAbi();
            ModelHandle handle;
            Status status;
            fixed (byte* p = bytes) status = Native.arbp_model_load_bytes(p, (UIntPtr)bytes.Length, out handle);
            return Loaded(status, handle);
        }

        private static PolicyModel Loaded(Status status, ModelHandle handle)
        {
            Errors.Check(status, handle);
            return new PolicyModel(handle);
        }

        /// <summary>A session for the calling thread (it keeps the model alive).</summary>
        public PolicySession NewSession()
        {
            SessionHandle session;
            Errors.Check(Native.arbp_session_new(handle, out session), session);
            return new PolicySession(session);
        }

        /// <summary>Release this reference to the model; open sessions keep working.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }

    /// <summary>One thread's decisions: reuses the engine's buffers. Never use one session from two threads at once.</summary>
    public sealed unsafe class PolicySession : IDisposable
    {
        private readonly SessionHandle handle;
        private readonly byte[] jsonOut = new byte[Library.DecisionJsonMax];

        internal PolicySession(SessionHandle handle)
        {
            this.handle = handle;
        }

        /// <summary>
        /// Decide for this book: up to 100 opportunities, up to 5 open positions. With a seed the action is
        /// drawn from the policy's probabilities, else the most probable allowed one is taken.
        /// </summary>
        public Decision Decide(Opportunity[] opportunities, Position[] positions, Portfolio portfolio, Config config, long nowMs, ulong? sampleSeed = null)
        {
            Requests.CheckArrays(opportunities, positions);
            Decision decision = new Decision { StructSize = (uint)sizeof(Decision) };
            Status status;
            fixed (Opportunity* o = opportunities)
            fixed (Position* p = positions)
            {
                NativeRequest request = Requests.Make(o, opportunities.Length, p, positions.Length, portfolio, config, nowMs, sampleSeed);
                status = Native.arbp_decide(handle, &request, &decision);
            }
            Errors.Check(status);
            return decision;
        }

        /// <summary>Decide for a JSON request; returns the JSON decision.</summary>
        public string DecideJson(string json)
        {
            if (json == null) throw new ArgumentNullException("json");
            byte[] input = Encoding.UTF8.GetBytes(json);
            UIntPtr needed;
            Status status;
            // A buffer of DecisionJsonMax bytes always holds the answer: one call.
            fixed (byte* i = input)
            fixed (byte* o = jsonOut)
                status = Native.arbp_decide_json(handle, i, (UIntPtr)input.Length, o, (UIntPtr)jsonOut.Length, out needed);
            Errors.Check(status);
            return Encoding.UTF8.GetString(jsonOut, 0, (int)needed - 1);
        }

        /// <summary>
        /// The raw network on one observation (275 features): fills <paramref name="logits"/> (36) and returns the
        /// value. With a mask (36 bytes, 1 allowed), models that take one are fed it.
        /// </summary>
        public float Forward(float[] observation, byte[] mask, float[] logits)
        {
            if (observation == null) throw new ArgumentNullException("observation");
            if (logits == null) throw new ArgumentNullException("logits");
            float value;
            Status status;
            fixed (float* obs = observation)
            fixed (byte* m = mask)
            fixed (float* l = logits)
                status = Native.arbp_session_forward(handle, obs, (UIntPtr)observation.Length, m, l, (UIntPtr)logits.Length, &value);
            Errors.Check(status);
            return value;
        }

        /// <summary>Close the session.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
