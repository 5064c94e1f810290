// Tests of the C# binding against the real library, run under Mono (bindings/dotnet/run-tests.sh):
//   mono ArbPolicy.Tests.exe MODEL.onnx MODEL.arbpnet HEADER.h
// Prints "C# tests: N passed, M failed" and exits non-zero on any failure.
using System;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using ArbPolicy;

internal static class Tests
{
    private static int passed, failed;
    private const long Now = 1764547200000L;

    private static void Check(bool ok, string what)
    {
        if (ok) passed++;
        else
        {
            failed++;
            Console.WriteLine("FAILED: " + what);
        }
    }

    /// <summary>The call throws an ArbPolicyException with this status and a message containing each needle.</summary>
    private static void Throws(Status status, Action call, string what, params string[] needles)
    {
        try
        {
            call();
            Check(false, what + ": no exception");
        }
        catch (ArbPolicyException e)
        {
            bool has = true;
            foreach (string n in needles) has &= e.Message.Contains(n);
            Check(e.Status == status && has, what + ": " + e.Status + " \"" + e.Message + "\"");
        }
    }

    private static Opportunity Opp(string coin, string longVenue, string shortVenue, double price, double longRate, double shortRate, double volume)
    {
        Opportunity o = Opportunity.Create(coin, Leg.Create(longVenue, price, longRate, 8), Leg.Create(shortVenue, price * 1.0003, shortRate, 8));
        o.FundProfit8h24hProj = shortRate - longRate;
        o.FundProfit8h3dProj = (shortRate - longRate) * 0.9;
        o.Spread30SampleAvg = 0.04;
        o.PriceSpread24hAvg = 0.05;
        o.PriceSpread3dAvg = 0.05;
        o.SpreadVolatilityStddev = 0.02;
        o.Volume24h = volume;
        o.BidAskSpreadPercent = 0.01;
        o.OrderbookDepth = volume / 200;
        return o;
    }

    /// <summary>Book <paramref name="k"/> of a family of books: rates, prices and capital vary with k.</summary>
    private static void Book(int k, out Opportunity[] opps, out Position[] positions, out Portfolio portfolio, out Config config)
    {
        double f = 1 + 0.07 * (k % 13);
        opps = new Opportunity[]
        {
            Opp("BTC", "binance", "bybit", 97250.5, 0.0001 * f, 0.0004, 2.1e9),
            Opp("ETH", "okx", "bybit", 3412.8, -0.00005, 0.0002 * f, 9.5e8),
            Opp("SOL", "bybit", "okx", 201.44, 0.00002, 0.00015 + 0.00001 * (k % 7), 3.2e8),
            Opp("XRP", "hyperliquid", "binance", 2.31, 0.00001 * (k % 5), 0.0003, 4.0e8),
        };
        PositionLeg l = PositionLeg.Create("binance", 0.3841, 0.3850 * (1 + 0.001 * (k % 3)), 0.00001, 8);
        PositionLeg s = PositionLeg.Create("okx", 0.3843, 0.3851, 0.00008, 8);
        Position p = Position.Create("DOGE", l, s, 300, 3, Now - 20 * 3600000L);
        p.FundingReceivedUsd = 0.5;
        p.FeesPaidUsd = 0.6;
        positions = k % 4 == 0 ? new Position[0] : new Position[] { p };
        portfolio = Portfolio.Create(10000 + 37 * (k % 11));
        config = Config.Default();
        config.MaxLeverage = 1 + k % 5;
    }

    private static string Num(double v) { return v.ToString("R", CultureInfo.InvariantCulture); }

    /// <summary>The JSON request of the same book.</summary>
    private static string Json(Opportunity[] opps, Position[] positions, Portfolio portfolio, Config c)
    {
        StringBuilder b = new StringBuilder("{\"opportunities\":[");
        for (int i = 0; i < opps.Length; i++)
        {
            Opportunity o = opps[i];
            b.Append(i > 0 ? "," : "").Append("{\"symbol\":\"").Append(o.Symbol).Append("\",\"long_leg\":");
            AppendLeg(b, o.LongLeg);
            b.Append(",\"short_leg\":");
            AppendLeg(b, o.ShortLeg);
            b.Append(",\"fund_profit_8h_24h_proj\":").Append(Num(o.FundProfit8h24hProj)).Append(",\"fund_profit_8h_3d_proj\":").Append(Num(o.FundProfit8h3dProj))
                .Append(",\"spread_30_sample_avg\":").Append(Num(o.Spread30SampleAvg)).Append(",\"price_spread_24h_avg\":").Append(Num(o.PriceSpread24hAvg))
                .Append(",\"price_spread_3d_avg\":").Append(Num(o.PriceSpread3dAvg)).Append(",\"spread_volatility_stddev\":").Append(Num(o.SpreadVolatilityStddev))
                .Append(",\"volume_24h\":").Append(Num(o.Volume24h)).Append(",\"bid_ask_spread_percent\":").Append(Num(o.BidAskSpreadPercent))
                .Append(",\"orderbook_depth\":").Append(Num(o.OrderbookDepth)).Append("}");
        }
        b.Append("],\"positions\":[");
        for (int i = 0; i < positions.Length; i++)
        {
            Position p = positions[i];
            b.Append(i > 0 ? "," : "").Append("{\"symbol\":\"").Append(p.Symbol).Append("\",\"long_leg\":");
            AppendLeg(b, p.LongLeg);
            b.Append(",\"short_leg\":");
            AppendLeg(b, p.ShortLeg);
            b.Append(",\"position_size_usd\":").Append(Num(p.PositionSizeUsd)).Append(",\"leverage\":").Append(Num(p.Leverage))
                .Append(",\"funding_received_usd\":").Append(Num(p.FundingReceivedUsd)).Append(",\"funding_paid_usd\":").Append(Num(p.FundingPaidUsd))
                .Append(",\"fees_paid_usd\":").Append(Num(p.FeesPaidUsd)).Append(",\"entry_time_ms\":").Append(p.EntryTimeMs).Append("}");
        }
        b.Append("],\"portfolio\":{\"total_capital\":").Append(Num(portfolio.TotalCapital))
            .Append(",\"initial_capital\":").Append(Num(portfolio.InitialCapital)).Append(",\"peak_capital\":").Append(Num(portfolio.PeakCapital))
            .Append(",\"max_drawdown\":").Append(Num(portfolio.MaxDrawdown)).Append(",\"day_start_capital\":").Append(Num(portfolio.DayStartCapital))
            .Append(",\"entries_halted\":").Append(portfolio.EntriesHalted != 0 ? "true" : "false")
            .Append(",\"episode_progress\":").Append(Num(portfolio.EpisodeProgress))
            .Append("},\"config\":{\"max_leverage\":").Append(Num(c.MaxLeverage)).Append(",\"target_utilization\":").Append(Num(c.TargetUtilization))
            .Append(",\"max_positions\":").Append(c.MaxPositions).Append(",\"stop_loss_threshold\":").Append(Num(c.StopLossThreshold))
            .Append(",\"liquidation_buffer\":").Append(Num(c.LiquidationBuffer)).Append(",\"fee_rate\":").Append(Num(c.FeeRate))
            .Append(",\"min_position_usd\":").Append(Num(c.MinPositionUsd)).Append(",\"max_margin_usage\":").Append(Num(c.MaxMarginUsage))
            .Append(",\"daily_loss_halt\":").Append(Num(c.DailyLossHalt)).Append(",\"episode_drawdown_stop\":").Append(Num(c.EpisodeDrawdownStop))
            .Append("},\"now_ms\":").Append(Now).Append("}");
        return b.ToString();
    }

    private static void AppendLeg(StringBuilder b, Leg l)
    {
        b.Append("{\"exchange\":\"").Append(l.Exchange).Append("\",\"price\":").Append(Num(l.Price))
            .Append(",\"funding_rate\":").Append(Num(l.FundingRate)).Append(",\"funding_interval_hours\":").Append(Num(l.FundingIntervalHours)).Append("}");
    }

    private static void AppendLeg(StringBuilder b, PositionLeg l)
    {
        b.Append("{\"exchange\":\"").Append(l.Exchange).Append("\",\"entry_price\":").Append(Num(l.EntryPrice)).Append(",\"price\":").Append(Num(l.Price))
            .Append(",\"funding_rate\":").Append(Num(l.FundingRate)).Append(",\"funding_interval_hours\":").Append(Num(l.FundingIntervalHours)).Append("}");
    }

    private static string Field(string json, string name)
    {
        Match m = Regex.Match(json, "\"" + name + "\":\\s*(\"[^\"]*\"|[-0-9.eE+]+|null)");
        return m.Success ? m.Groups[1].Value.Trim('"') : null;
    }

    private static void CheckDecision(Decision d, string what)
    {
        Check(d.ActionIndex < Library.ActionCount && d.Allowed((int)d.ActionIndex), what + ": an allowed action");
        Check(d.ActionName == Library.ActionName((int)d.ActionIndex), what + ": name " + d.ActionName);
        double total = 0;
        bool maskedZero = true;
        for (int i = 0; i < Library.ActionCount; i++)
        {
            total += d.ProbabilityOf(i);
            if (!d.Allowed(i) && d.ProbabilityOf(i) != 0f) maskedZero = false;
        }
        Check(Math.Abs(total - 1) < 1e-5, what + ": probabilities sum to " + total);
        Check(maskedZero, what + ": forbidden actions have probability exactly 0");
        Check(d.Probability == d.ProbabilityOf((int)d.ActionIndex), what + ": the chosen probability");
    }

    private static bool Same(Decision a, Decision b)
    {
        if (a.ActionIndex != b.ActionIndex || a.Value != b.Value || a.SizeUsd != b.SizeUsd) return false;
        for (int i = 0; i < Library.ActionCount; i++)
            if (a.ProbabilityOf(i) != b.ProbabilityOf(i)) return false;
        return true;
    }

    private static void Versions(string header)
    {
        Match m = Regex.Match(File.ReadAllText(header), @"#define ARBP_ABI_VERSION (\d+)");
        Check(m.Success && uint.Parse(m.Groups[1].Value) == Library.AbiVersion, "the header's ARBP_ABI_VERSION equals arbp_abi_version()");
        Check(Library.AbiVersion == Library.BindingAbiVersion, "the binding's ABI version equals the library's");
        Match j = Regex.Match(File.ReadAllText(header), @"#define ARBP_DECISION_JSON_MAX (\d+)");
        Check(j.Success && int.Parse(j.Groups[1].Value) == Library.DecisionJsonMax, "the header's ARBP_DECISION_JSON_MAX equals the binding's");
        Check(Regex.IsMatch(Library.Version ?? "", @"^\d+\.\d+\.\d+"), "version string " + Library.Version);
        Check(Library.StatusText(Status.InvalidModel).Length > 0, "status text");
    }

    private static void Decisions(PolicyModel onnx, PolicyModel native)
    {
        using (PolicySession a = onnx.NewSession())
        using (PolicySession b = native.NewSession())
        {
            Opportunity[] opps; Position[] positions; Portfolio portfolio; Config config;
            Book(1, out opps, out positions, out portfolio, out config);
            Decision d = b.Decide(opps, positions, portfolio, config, Now);
            CheckDecision(d, "native struct decision");
            Decision t = a.Decide(opps, positions, portfolio, config, Now);
            CheckDecision(t, "ONNX struct decision");
            Check(t.ActionIndex == d.ActionIndex && Math.Abs(t.Probability - d.Probability) < 1e-5, "tract and native agree");

            string answer = b.DecideJson(Json(opps, positions, portfolio, config));
            Check(Field(answer, "action") == d.ActionName, "JSON and structs choose the same action: " + Field(answer, "action"));
            Check(Math.Abs(double.Parse(Field(answer, "probability"), CultureInfo.InvariantCulture) - d.Probability) < 1e-6, "same probability");
            Check(Math.Abs(double.Parse(Field(answer, "state_value"), CultureInfo.InvariantCulture) - d.Value) < 1e-5, "same value");

            bool[] mask = Library.ActionMask(opps, positions, portfolio, config, Now);
            bool sameMask = true;
            for (int i = 0; i < Library.ActionCount; i++) sameMask &= mask[i] == d.Allowed(i);
            Check(sameMask, "arbp_action_mask equals the decision's mask");

            // A sampled decision is reproducible from its seed.
            Decision s1 = b.Decide(opps, positions, portfolio, config, Now, 42UL);
            Decision s2 = b.Decide(opps, positions, portfolio, config, Now, 42UL);
            Check(Same(s1, s2) && s1.Allowed((int)s1.ActionIndex), "seeded sampling repeats");

            // Every entry the policy could take is sized within the user's leverage.
            double lev;
            double size = Library.PositionSize(config, portfolio.TotalCapital, 1, out lev);
            Check(size > 0 && lev >= 1 && lev <= config.MaxLeverage, "medium entry: " + size + " USD at " + lev + "x");
            if (d.ActionIndex >= 1 && d.ActionIndex <= 30)
                Check(d.OpportunityIndex >= 0 && d.OpportunityIndex < opps.Length && d.SizeUsd > 0 && d.Leverage <= config.MaxLeverage, "entry fields");

            // A position down 5 % is exited by the stop-loss before the policy is asked.
            Position[] losing = new Position[] { positions[0] };
            losing[0].LongLeg.Price = losing[0].LongLeg.EntryPrice * 0.9;
            Decision stop = b.Decide(opps, losing, portfolio, config, Now);
            Check(stop.OverrideReason == OverrideReason.StopLoss && stop.ActionName == "EXIT_POS_0" && stop.PositionIndex == 0 && stop.Coin == "DOGE",
                "stop-loss override: " + stop.ActionName + " " + stop.OverrideReason);

            float[] obs = new float[Library.ObservationLength];
            for (int i = 0; i < obs.Length; i++) obs[i] = (float)Math.Sin(i) * 0.5f;
            float[] la = new float[Library.ActionCount], lb = new float[Library.ActionCount];
            float va = a.Forward(obs, null, la), vb = b.Forward(obs, null, lb);
            double worst = Math.Abs(va - vb);
            for (int i = 0; i < la.Length; i++) worst = Math.Max(worst, Math.Abs(la[i] - lb[i]));
            Check(worst < 1e-5, "raw forward: tract and native within " + worst);
        }
    }

    private static void Errors(string onnxPath, PolicyModel native)
    {
        Throws(Status.IoError, () => PolicyModel.Load("/nonexistent/policy.onnx"), "missing file", "/nonexistent/policy.onnx");
        Throws(Status.InvalidModel, () => PolicyModel.FromBytes(Encoding.ASCII.GetBytes("not a model at all")), "garbage model");
        byte[] onnx = File.ReadAllBytes(onnxPath);
        byte[] truncated = new byte[onnx.Length / 2];
        Array.Copy(onnx, truncated, truncated.Length);
        Throws(Status.InvalidModel, () => PolicyModel.FromBytes(truncated), "truncated ONNX");

        using (PolicySession s = native.NewSession())
        {
            Opportunity[] opps; Position[] positions; Portfolio portfolio; Config config;
            Book(2, out opps, out positions, out portfolio, out config);
            Opportunity[] bad = (Opportunity[])opps.Clone();
            bad[1].ShortLeg.Price = double.NaN;
            // An opportunity with a NaN price is never chosen (the others still are); a NaN in the book
            // itself is refused.
            for (int i = 0; i < bad.Length; i++) bad[i].LongLeg.FundingRate = i == 1 ? 0.0001 : 0.01;
            bad[1].ShortLeg.Price = double.NaN;
            bad[1].ShortLeg.FundingRate = 0.05;
            Decision skip = s.Decide(bad, positions, portfolio, config, Now);
            Check(skip.OpportunityIndex != 1, "an opportunity with a NaN price is never entered: " + skip.ActionName);
            Position[] nan = (Position[])positions.Clone();
            nan[0].ShortLeg.Price = double.NaN;
            Throws(Status.InvalidInput, () => s.Decide(opps, nan, portfolio, config, Now), "NaN position price", "positions[0]", "price");
            Portfolio broke = portfolio;
            broke.TotalCapital = double.PositiveInfinity;
            Throws(Status.InvalidInput, () => s.Decide(opps, positions, broke, config, Now), "infinite capital", "capital");
            Config wild = config;
            wild.MaxLeverage = 12;
            Throws(Status.InvalidInput, () => wild.Validate(), "leverage 12", "max_leverage");
            Throws(Status.InvalidInput, () => s.Decide(opps, positions, portfolio, wild, Now), "decide with leverage 12", "max_leverage");
            Throws(Status.InvalidArgument, () => s.Decide(new Opportunity[101], positions, portfolio, config, Now), "101 opportunities", "101");
            Throws(Status.InvalidArgument, () => s.Decide(new Opportunity[] { new Opportunity() }, positions, portfolio, config, Now),
                "a default-constructed opportunity", "struct_size");
            Throws(Status.MalformedJson, () => s.DecideJson("{\"opportunities\": ["), "truncated JSON");
            Throws(Status.MalformedJson, () => s.DecideJson(Json(opps, positions, portfolio, config).Replace("\"now_ms\"", "\"nowms\"")), "unknown field", "nowms");
            Throws(Status.InvalidArgument, () => s.Forward(new float[274], null, new float[36]), "short observation", "274");
            Throws(Status.InvalidArgument, () => Library.PositionSize(config, 1000, 3, out _), "tier 3", "tier");
            try
            {
                Opportunity.Create("A_VERY_LONG_COIN_NAME", opps[0].LongLeg, opps[0].ShortLeg);
                Check(false, "a 21-byte name is refused");
            }
            catch (ArgumentException e)
            {
                Check(e.Message.Contains("symbol"), "a 21-byte name is refused: " + e.Message);
            }
            // After errors the session still decides.
            CheckDecision(s.Decide(opps, positions, portfolio, config, Now), "decision after errors");
        }
    }

    private static void Threads(PolicyModel model)
    {
        const int Books = 200, PerThread = 2000, ThreadCount = 8;
        Decision[] expected = new Decision[Books];
        using (PolicySession s = model.NewSession())
        {
            for (int k = 0; k < Books; k++)
            {
                Opportunity[] o; Position[] p; Portfolio f; Config c;
                Book(k, out o, out p, out f, out c);
                expected[k] = s.Decide(o, p, f, c, Now);
            }
        }
        int mismatches = 0, decided = 0;
        Exception failure = null;
        Thread[] threads = new Thread[ThreadCount];
        for (int t = 0; t < ThreadCount; t++)
        {
            int offset = t * 17;
            threads[t] = new Thread(() =>
            {
                try
                {
                    using (PolicySession s = model.NewSession())
                    {
                        for (int i = 0; i < PerThread; i++)
                        {
                            int k = (i + offset) % Books;
                            Opportunity[] o; Position[] p; Portfolio f; Config c;
                            Book(k, out o, out p, out f, out c);
                            if (!Same(s.Decide(o, p, f, c, Now), expected[k])) Interlocked.Increment(ref mismatches);
                            Interlocked.Increment(ref decided);
                        }
                    }
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });
            threads[t].Start();
        }
        foreach (Thread t in threads) t.Join();
        Check(failure == null, "threads ran without exceptions: " + failure);
        Check(decided == ThreadCount * PerThread && mismatches == 0,
            ThreadCount + " threads x " + PerThread + " decisions through one model equal one thread's: " + mismatches + " differ of " + decided);
        int entries = 0;
        foreach (Decision d in expected) if (d.ActionIndex >= 1 && d.ActionIndex <= 30) entries++;
        Console.WriteLine("  threads: " + decided + " decisions, " + entries + " of " + Books + " books enter");
    }

    private static int Main(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: mono ArbPolicy.Tests.exe MODEL.onnx MODEL.arbpnet HEADER.h");
            return 2;
        }
        Versions(args[2]);
        PolicyModel onnx = PolicyModel.Load(args[0]);
        PolicyModel native = PolicyModel.FromBytes(File.ReadAllBytes(args[1]));
        Decisions(onnx, native);
        Errors(args[0], native);
        Threads(native);
        // Sessions outlive their model's handle.
        PolicySession late = native.NewSession();
        native.Dispose();
        onnx.Dispose();
        Opportunity[] o; Position[] p; Portfolio f; Config c;
        Book(3, out o, out p, out f, out c);
        CheckDecision(late.Decide(o, p, f, c, Now), "a session after its model was disposed");
        late.Dispose();
        Console.WriteLine("C# tests: " + passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }
}
