// The blittable structs of the C ABI, field for field in the header's order (LayoutKind.Sequential
// follows the C layout rules); names are fixed UTF-8 byte buffers, read and written through the
// helpers on each struct.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace ArbPolicy
{
    /// <summary>What a call returned (arbp_status). Values are never renumbered.</summary>
    public enum Status : int
    {
        /// <summary>Success.</summary>
        Ok = 0,
        /// <summary>A required pointer was NULL.</summary>
        NullPointer = 1,
        /// <summary>A length, count, index or struct size is wrong.</summary>
        InvalidArgument = 2,
        /// <summary>A value is refused: not finite, out of range, a bad name, a failing configuration.</summary>
        InvalidInput = 3,
        /// <summary>An output buffer is too small.</summary>
        BufferTooSmall = 4,
        /// <summary>Text is not valid UTF-8.</summary>
        InvalidUtf8 = 5,
        /// <summary>A JSON request is malformed.</summary>
        MalformedJson = 6,
        /// <summary>The model is refused.</summary>
        InvalidModel = 7,
        /// <summary>A file could not be read.</summary>
        IoError = 8,
        /// <summary>The model failed while running.</summary>
        RuntimeError = 9,
        /// <summary>An internal error was caught inside the library.</summary>
        Panic = 10,
    }

    /// <summary>Confidence label of a decision.</summary>
    public enum Confidence : int
    {
        /// <summary>Chosen-action probability at least 0.6.</summary>
        High = 0,
        /// <summary>At least 0.3.</summary>
        Medium = 1,
        /// <summary>Less.</summary>
        Low = 2,
    }

    /// <summary>Liquidation risk of the position entered or exited.</summary>
    public enum RiskLevel : int
    {
        /// <summary>At least 0.45 of price away.</summary>
        Low = 0,
        /// <summary>At least 0.2.</summary>
        Medium = 1,
        /// <summary>Closer.</summary>
        High = 2,
    }

    /// <summary>Why the risk rules overrode the policy, if they did.</summary>
    public enum OverrideReason : int
    {
        /// <summary>The policy's choice.</summary>
        None = 0,
        /// <summary>A position breached the stop-loss: forced exit.</summary>
        StopLoss = 1,
        /// <summary>A position came within the liquidation buffer: forced exit.</summary>
        LiquidationBuffer = 2,
        /// <summary>A position was past its liquidation price: forced exit.</summary>
        Liquidated = 3,
        /// <summary>The policy failed to evaluate: HOLD.</summary>
        PolicyFailed = 4,
        /// <summary>The policy's outputs were not finite: HOLD.</summary>
        NonFiniteOutput = 5,
    }

    /// <summary>UTF-8 to and from the ABI's NUL-terminated fixed buffers.</summary>
    internal static unsafe class Utf8
    {
        /// <summary>Bytes of a name field (ARBP_NAME_SIZE): 16 bytes of UTF-8 and a NUL.</summary>
        internal const int NameSize = 17;

        internal static void Write(byte* field, int size, string value, string what)
        {
            if (value == null) throw new ArgumentNullException(what);
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            if (bytes.Length >= size)
                throw new ArgumentException(what + " is " + bytes.Length + " bytes of UTF-8; at most " + (size - 1) + " fit", what);
            for (int i = 0; i < size; i++) field[i] = i < bytes.Length ? bytes[i] : (byte)0;
        }

        internal static string Read(byte* field, int size)
        {
            int n = 0;
            while (n < size && field[n] != 0) n++;
            return Encoding.UTF8.GetString(field, n);
        }

        /// <summary>A static NUL-terminated string of the library.</summary>
        internal static string FromStatic(byte* text)
        {
            if (text == null) return null;
            int n = 0;
            while (text[n] != 0) n++;
            return Encoding.UTF8.GetString(text, n);
        }

        /// <summary>The text and a terminating NUL.</summary>
        internal static byte[] Terminated(string text)
        {
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
            Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }
    }

    /// <summary>One venue of an opportunity (arbp_leg).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Leg
    {
        private fixed byte exchange[Utf8.NameSize];
        /// <summary>Price of the perpetual, USD.</summary>
        public double Price;
        /// <summary>Latest funding rate, fraction per settlement interval.</summary>
        public double FundingRate;
        /// <summary>Settlement interval, hours.</summary>
        public double FundingIntervalHours;

        /// <summary>A leg on <paramref name="exchange"/>.</summary>
        public static Leg Create(string exchange, double price, double fundingRate, double fundingIntervalHours)
        {
            Leg leg = new Leg { Price = price, FundingRate = fundingRate, FundingIntervalHours = fundingIntervalHours };
            leg.Exchange = exchange;
            return leg;
        }

        /// <summary>Exchange name, at most 16 bytes of UTF-8.</summary>
        public string Exchange
        {
            get { fixed (byte* p = exchange) return Utf8.Read(p, Utf8.NameSize); }
            set { fixed (byte* p = exchange) Utf8.Write(p, Utf8.NameSize, value, "exchange"); }
        }
    }

    /// <summary>A detected opportunity: buy on the long leg, sell on the short leg (arbp_opportunity). Make one with
    /// <see cref="Create"/>: a default one is refused, its size field being 0.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Opportunity
    {
        private uint structSize;
        private fixed byte symbol[Utf8.NameSize];
        /// <summary>The venue to buy on (lower funding).</summary>
        public Leg LongLeg;
        /// <summary>The venue to sell on (higher funding).</summary>
        public Leg ShortLeg;
        /// <summary>Mean over 24 h of the funding difference, fraction per 8 h.</summary>
        public double FundProfit8h24hProj;
        /// <summary>Mean over 3 days of the funding difference, fraction per 8 h.</summary>
        public double FundProfit8h3dProj;
        /// <summary>Mean cross-venue price spread over the last 30 samples, percent.</summary>
        public double Spread30SampleAvg;
        /// <summary>Mean cross-venue price spread over 24 h, percent.</summary>
        public double PriceSpread24hAvg;
        /// <summary>Mean cross-venue price spread over 3 days, percent.</summary>
        public double PriceSpread3dAvg;
        /// <summary>Standard deviation of the spread, percent.</summary>
        public double SpreadVolatilityStddev;
        /// <summary>Traded volume over 24 h, USD.</summary>
        public double Volume24h;
        /// <summary>Bid-ask spread, percent of mid.</summary>
        public double BidAskSpreadPercent;
        /// <summary>Order-book depth near the mid, USD.</summary>
        public double OrderbookDepth;

        /// <summary>An opportunity on <paramref name="symbol"/>, its size field set; fill in the statistics.</summary>
        public static Opportunity Create(string symbol, Leg longLeg, Leg shortLeg)
        {
            Opportunity o = new Opportunity { structSize = (uint)sizeof(Opportunity), LongLeg = longLeg, ShortLeg = shortLeg };
            o.Symbol = symbol;
            return o;
        }

        /// <summary>Coin symbol, e.g. BTC.</summary>
        public string Symbol
        {
            get { fixed (byte* p = symbol) return Utf8.Read(p, Utf8.NameSize); }
            set { fixed (byte* p = symbol) Utf8.Write(p, Utf8.NameSize, value, "symbol"); }
        }
    }

    /// <summary>One leg of an open position (arbp_position_leg).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct PositionLeg
    {
        private fixed byte exchange[Utf8.NameSize];
        /// <summary>Entry price, USD.</summary>
        public double EntryPrice;
        /// <summary>Current price, USD.</summary>
        public double Price;
        /// <summary>Latest funding rate, fraction per settlement interval.</summary>
        public double FundingRate;
        /// <summary>Settlement interval, hours.</summary>
        public double FundingIntervalHours;

        /// <summary>A leg on <paramref name="exchange"/>.</summary>
        public static PositionLeg Create(string exchange, double entryPrice, double price, double fundingRate, double fundingIntervalHours)
        {
            PositionLeg leg = new PositionLeg { EntryPrice = entryPrice, Price = price, FundingRate = fundingRate, FundingIntervalHours = fundingIntervalHours };
            leg.Exchange = exchange;
            return leg;
        }

        /// <summary>Exchange name, at most 16 bytes of UTF-8.</summary>
        public string Exchange
        {
            get { fixed (byte* p = exchange) return Utf8.Read(p, Utf8.NameSize); }
            set { fixed (byte* p = exchange) Utf8.Write(p, Utf8.NameSize, value, "exchange"); }
        }
    }

    /// <summary>An open position (arbp_position). Make one with <see cref="Create"/>: a default one is refused.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Position
    {
        private uint structSize;
        private fixed byte symbol[Utf8.NameSize];
        /// <summary>The long leg.</summary>
        public PositionLeg LongLeg;
        /// <summary>The short leg.</summary>
        public PositionLeg ShortLeg;
        /// <summary>Notional of each leg at entry, USD.</summary>
        public double PositionSizeUsd;
        /// <summary>Leverage of both legs.</summary>
        public double Leverage;
        /// <summary>Funding received so far, USD.</summary>
        public double FundingReceivedUsd;
        /// <summary>Funding paid so far, USD.</summary>
        public double FundingPaidUsd;
        /// <summary>Fees paid so far, USD.</summary>
        public double FeesPaidUsd;
        /// <summary>Entry time, Unix milliseconds.</summary>
        public long EntryTimeMs;

        /// <summary>A position on <paramref name="symbol"/>, its size field set.</summary>
        public static Position Create(string symbol, PositionLeg longLeg, PositionLeg shortLeg, double sizeUsd, double leverage, long entryTimeMs)
        {
            Position p = new Position
            {
                structSize = (uint)sizeof(Position),
                LongLeg = longLeg,
                ShortLeg = shortLeg,
                PositionSizeUsd = sizeUsd,
                Leverage = leverage,
                EntryTimeMs = entryTimeMs,
            };
            p.Symbol = symbol;
            return p;
        }

        /// <summary>Coin symbol.</summary>
        public string Symbol
        {
            get { fixed (byte* p = symbol) return Utf8.Read(p, Utf8.NameSize); }
            set { fixed (byte* p = symbol) Utf8.Write(p, Utf8.NameSize, value, "symbol"); }
        }
    }

    /// <summary>The book (arbp_portfolio). Make one with <see cref="Create"/>: a default one is refused.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Portfolio
    {
        private uint structSize;
        /// <summary>Current capital (equity), USD.</summary>
        public double TotalCapital;
        /// <summary>Capital at the start of the account or episode, USD.</summary>
        public double InitialCapital;
        /// <summary>Highest capital seen, USD.</summary>
        public double PeakCapital;
        /// <summary>Largest drawdown seen, fraction.</summary>
        public double MaxDrawdown;
        /// <summary>Capital at the start of the UTC day, USD.</summary>
        public double DayStartCapital;
        /// <summary>1 when the daily-loss halt was triggered today, else 0.</summary>
        public byte EntriesHalted;
        /// <summary>Share of the episode elapsed, [0, 1] (0 outside training).</summary>
        public double EpisodeProgress;

        /// <summary>A book of <paramref name="capital"/> USD at its start and peak.</summary>
        public static Portfolio Create(double capital)
        {
            return new Portfolio
            {
                structSize = (uint)sizeof(Portfolio),
                TotalCapital = capital,
                InitialCapital = capital,
                PeakCapital = capital,
                DayStartCapital = capital,
            };
        }
    }

    /// <summary>The user's risk settings (arbp_config, its arbp_settings laid out inline: the same bytes). Start
    /// from <see cref="Config.Default"/>: a default-constructed one is refused.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Config
    {
        private uint structSize;
        /// <summary>Leverage, [1, 10].</summary>
        public double MaxLeverage;
        /// <summary>Share of capital to deploy, (0, 1].</summary>
        public double TargetUtilization;
        /// <summary>Open positions at most, 1..5.</summary>
        public byte MaxPositions;
        /// <summary>Stop-loss as a fraction of a position's size, [-0.05, -0.01].</summary>
        public double StopLossThreshold;
        /// <summary>Liquidation buffer, fraction of price, [0.1, 0.3].</summary>
        public double LiquidationBuffer;
        /// <summary>Taker fee per side, fraction of notional.</summary>
        public double FeeRate;
        /// <summary>Smallest position, USD.</summary>
        public double MinPositionUsd;
        /// <summary>Margin cap, fraction of capital.</summary>
        public double MaxMarginUsage;
        /// <summary>Daily loss that halts new entries, fraction of the day's starting capital.</summary>
        public double DailyLossHalt;
        /// <summary>Drawdown that ends a training episode, fraction.</summary>
        public double EpisodeDrawdownStop;

        /// <summary>The engine's default (balanced) configuration.</summary>
        public static Config Default()
        {
            Config c;
            Errors.Check(Native.arbp_config_default(&c));
            return c;
        }

        /// <summary>Throws <see cref="ArbPolicyException"/> naming the field when a setting is out of range.</summary>
        public void Validate()
        {
            Config c = this;
            Errors.Check(Native.arbp_config_validate(&c));
        }
    }

    /// <summary>arbp_request: the caller's arrays are pinned for the duration of one call.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct NativeRequest
    {
        internal uint StructSize;
        internal Opportunity* Opportunities;
        internal UIntPtr OpportunityCount;
        internal Position* Positions;
        internal UIntPtr PositionCount;
        internal Portfolio Portfolio;
        internal Config Config;
        internal long NowMs;
        internal byte Sample;
        internal ulong SampleSeed;
    }

    /// <summary>What to do now (arbp_decision).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Decision
    {
        /// <summary>Number of actions.</summary>
        public const int ActionCount = 36;
        private const int LabelSize = 24;

        internal uint StructSize;
        /// <summary>The action, 0-35 (0 HOLD, 1-30 ENTER, 31-35 EXIT).</summary>
        public uint ActionIndex;
        private fixed byte actionName[LabelSize];
        /// <summary>For an entry: the index into the request's opportunities; else -1.</summary>
        public int OpportunityIndex;
        /// <summary>For an exit: the index into the request's positions; else -1.</summary>
        public int PositionIndex;
        /// <summary>For an entry: the notional of each leg, USD; else 0.</summary>
        public double SizeUsd;
        /// <summary>For an entry: the leverage of both legs; else 0.</summary>
        public double Leverage;
        /// <summary>The chosen action's probability.</summary>
        public float Probability;
        /// <summary>Its confidence.</summary>
        public Confidence Confidence;
        /// <summary>The policy's state value (0 when the policy was not asked).</summary>
        public float Value;
        private fixed float probabilities[ActionCount];
        private fixed byte mask[ActionCount];
        private fixed byte coin[Utf8.NameSize];
        private fixed byte longExchange[Utf8.NameSize];
        private fixed byte shortExchange[Utf8.NameSize];
        private byte hasExpectedApr;
        private double expectedApr;
        /// <summary>Liquidation risk of the position entered or exited.</summary>
        public RiskLevel RiskLevel;
        /// <summary>Why the risk rules overrode the policy, if they did.</summary>
        public OverrideReason OverrideReason;

        /// <summary>The action's name, e.g. ENTER_OPP_3_MEDIUM.</summary>
        public string ActionName { get { fixed (byte* p = actionName) return Utf8.Read(p, LabelSize); } }

        /// <summary>The coin entered or exited; empty otherwise.</summary>
        public string Coin { get { fixed (byte* p = coin) return Utf8.Read(p, Utf8.NameSize); } }

        /// <summary>Its long exchange; empty otherwise.</summary>
        public string LongExchange { get { fixed (byte* p = longExchange) return Utf8.Read(p, Utf8.NameSize); } }

        /// <summary>Its short exchange; empty otherwise.</summary>
        public string ShortExchange { get { fixed (byte* p = shortExchange) return Utf8.Read(p, Utf8.NameSize); } }

        /// <summary>For an entry: the opportunity's 24 h funding difference as an APR, fraction per year; else null.</summary>
        public double? ExpectedApr { get { return hasExpectedApr != 0 ? expectedApr : (double?)null; } }

        /// <summary>Action <paramref name="action"/>'s probability (exactly 0 for actions the risk limits forbid).</summary>
        public float ProbabilityOf(int action)
        {
            CheckAction(action);
            fixed (float* p = probabilities) return p[action];
        }

        /// <summary>Whether the risk limits allowed action <paramref name="action"/>.</summary>
        public bool Allowed(int action)
        {
            CheckAction(action);
            fixed (byte* p = mask) return p[action] != 0;
        }

        private static void CheckAction(int action)
        {
            if (action < 0 || action >= ActionCount)
                throw new ArgumentOutOfRangeException("action", action, "actions are 0 to " + (ActionCount - 1));
        }
    }
}
