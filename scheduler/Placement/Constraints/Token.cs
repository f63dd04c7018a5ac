using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Placement.Constraints;

internal enum TokenKind
{
    Word,
    Quoted,
    Equal,
    NotEqual,
    And,
    Or,
    Not,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    End,
}

/// <param name="Position">1-based column of the token's first character.</param>
internal readonly record struct Token(TokenKind Kind, string Text, int Position)
{
    /// <summary>Keywords (and, or, not, in, exists) are plain words matched without case.</summary>
    public bool IsKeyword(string keyword) =>
        Kind == TokenKind.Word && string.Equals(Text, keyword, StringComparison.OrdinalIgnoreCase);

    public string Describe() => Kind == TokenKind.End ? "end of expression" : $"'{Echo.Clip(Text)}'";
}
