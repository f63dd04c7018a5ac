namespace Orchestrator.Cli;

/// <summary>What exec -t needs of a real terminal: raw mode, its size, and word when it changes.</summary>
internal interface ITerminal
{
    /// <summary>Puts the terminal into raw mode (no echo, no line editing, no signals); disposing restores it.</summary>
    IDisposable EnterRawMode();

    (uint Rows, uint Columns) Size { get; }

    /// <summary>Calls back when the window changes size (SIGWINCH); disposing stops it.</summary>
    IDisposable OnResize(Action resized);
}
