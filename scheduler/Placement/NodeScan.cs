namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// The per-call memory of the node scan. Within one placement call a node changes only when it takes
/// a task, and every dynamic filter and node-local scorer depends on that node alone, so their answers
/// are kept and recomputed only for the node just chosen. A node found unable to take a task is
/// dropped from the candidates for the rest of the call: nodes only ever fill up.
/// </summary>
internal sealed class NodeScan
{
    private readonly PlacementWorkspace _workspace;
    private readonly IDynamicFilter[] _filters;
    private readonly IPlacementScorer[] _scorers;
    private readonly bool[] _nodeLocal;
    private readonly int[] _candidates;
    private readonly double[] _scores;     // node * scorers + s, for node-local scorers
    private readonly bool[] _scoresKnown;  // per node
    private readonly double[] _current;
    private readonly double[] _best;
    private readonly ulong _seed;
    private readonly bool _remember;
    private int _candidateCount;

    /// <param name="remember">
    /// Keep answers between tasks. Worth it when the call places more than one task; for one task it
    /// would only allocate.
    /// </param>
    public NodeScan(PlacementWorkspace workspace, RejectReason[] staticRejects, IDynamicFilter[] filters, IPlacementScorer[] scorers, ulong seed, bool remember)
    {
        _workspace = workspace;
        _filters = filters;
        _scorers = scorers;
        _seed = seed;
        _nodeLocal = [.. scorers.Select(s => remember && s.NodeLocal)];
        _candidates = new int[staticRejects.Length];
        for (var node = 0; node < staticRejects.Length; node++)
        {
            if (staticRejects[node] == RejectReason.None)
            {
                _candidates[_candidateCount++] = node;
            }
        }

        _remember = remember;
        _scores = remember ? new double[staticRejects.Length * scorers.Length] : [];
        _scoresKnown = remember ? new bool[staticRejects.Length] : [];
        _current = new double[scorers.Length];
        _best = new double[scorers.Length];
    }

    /// <summary>The best node for the next task, or -1 when no node can take it.</summary>
    public int Choose(int ordinal)
    {
        var chosen = -1;
        var chosenTieBreak = 0UL;
        var tieBreakKnown = false;
        var current = _current;
        var best = _best;
        var k = _scorers.Length;
        var i = 0;
        while (i < _candidateCount)
        {
            var node = _candidates[i];
            if (!(_remember && _scoresKnown[node]) && !Feasible(node))
            {
                // Swap-remove: the order of candidates does not matter, ties go by seeded hash.
                _candidates[i] = _candidates[--_candidateCount];
                continue;
            }

            i++;

            // Lexicographic comparison over the strategy chain, stopping at the first worse score.
            var better = chosen < 0;
            var worse = false;
            for (var s = 0; s < k; s++)
            {
                var score = ScoreOf(node, s, ordinal);
                current[s] = score;
                if (better)
                {
                    continue;
                }

                if (score < best[s])
                {
                    better = true;
                }
                else if (score > best[s])
                {
                    worse = true;
                    break;
                }
            }

            if (worse)
            {
                continue;
            }

            if (!better)
            {
                // A full tie: the seed decides, not the node's position in the list.
                if (!tieBreakKnown)
                {
                    chosenTieBreak = SeededHash.Mix(_seed, ordinal, chosen);
                    tieBreakKnown = true;
                }

                var tieBreak = SeededHash.Mix(_seed, ordinal, node);
                if (tieBreak >= chosenTieBreak)
                {
                    continue;
                }

                chosenTieBreak = tieBreak;
            }
            else
            {
                tieBreakKnown = false;
            }

            chosen = node;
            (current, best) = (best, current);
        }

        return chosen;
    }

    /// <summary>The node took a task: forget what was known about it.</summary>
    public void Placed(int node)
    {
        if (_remember)
        {
            _scoresKnown[node] = false;
        }
    }

    private bool Feasible(int node)
    {
        foreach (var filter in _filters)
        {
            if (filter.Check(_workspace, node) != RejectReason.None)
            {
                return false;
            }
        }

        // Feasible now; its node-local scores are computed below and kept until it takes a task.
        for (var s = 0; s < _scorers.Length; s++)
        {
            if (_nodeLocal[s])
            {
                _scores[(node * _scorers.Length) + s] = _scorers[s].Score(_workspace, node, 0);
            }
        }

        if (_remember)
        {
            _scoresKnown[node] = true;
        }

        return true;
    }

    private double ScoreOf(int node, int s, int ordinal) =>
        _nodeLocal[s] ? _scores[(node * _scorers.Length) + s] : _scorers[s].Score(_workspace, node, ordinal);
}
