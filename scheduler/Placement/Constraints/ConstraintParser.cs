namespace Orchestrator.Scheduler.Placement.Constraints;

/// <summary>
/// Parses the memberOf query language, a small cousin of ECS's cluster query language:
/// <code>
/// expr       := or
/// or         := and (("||" | "or") and)*
/// and        := unary (("&amp;&amp;" | "and") unary)*
/// unary      := ("!" | "not") unary | "(" expr ")" | comparison
/// comparison := subject ("==" value | "!=" value | "in" list | "not" "in" list | "exists")
/// subject    := "attribute:" NAME | "name"
/// list       := "[" value ("," value)* "]"
/// </code>
/// Values are bare words or quoted strings. Errors carry the 1-based position of the offending token.
/// </summary>
internal sealed class ConstraintParser
{
    public const int MaxLength = 2048;
    private const int MaxDepth = 32;

    private readonly List<Token> _tokens;
    private int _index;
    private int _depth;

    private ConstraintParser(List<Token> tokens) => _tokens = tokens;

    public static ConstraintExpression Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ConstraintSyntaxException("expression is empty", 1);
        }

        if (text.Length > MaxLength)
        {
            throw new ConstraintSyntaxException($"expression is longer than {MaxLength} characters", MaxLength + 1);
        }

        var parser = new ConstraintParser(ConstraintLexer.Tokenize(text));
        var expression = parser.ParseOr();
        var rest = parser.Current;
        if (rest.Kind != TokenKind.End)
        {
            throw new ConstraintSyntaxException($"unexpected {rest.Describe()}", rest.Position);
        }

        return expression;
    }

    private Token Current => _tokens[_index];

    private Token Advance() => _tokens[_index++];

    private ConstraintExpression ParseOr()
    {
        var left = ParseAnd();
        while (Current.Kind == TokenKind.Or || Current.IsKeyword("or"))
        {
            Advance();
            left = new OrExpression(left, ParseAnd());
        }

        return left;
    }

    private ConstraintExpression ParseAnd()
    {
        var left = ParseUnary();
        while (Current.Kind == TokenKind.And || Current.IsKeyword("and"))
        {
            Advance();
            left = new AndExpression(left, ParseUnary());
        }

        return left;
    }

    private ConstraintExpression ParseUnary()
    {
        if (++_depth > MaxDepth)
        {
            throw new ConstraintSyntaxException($"expression nests deeper than {MaxDepth}", Current.Position);
        }

        try
        {
            var token = Current;
            if (token.Kind == TokenKind.Not || token.IsKeyword("not"))
            {
                Advance();
                return new NotExpression(ParseUnary());
            }

            if (token.Kind == TokenKind.LeftParen)
            {
                Advance();
                var inner = ParseOr();
                Expect(TokenKind.RightParen, "')'");
                return inner;
            }

            return ParseComparison();
        }
        finally
        {
            _depth--;
        }
    }

    private ConstraintExpression ParseComparison()
    {
        var subject = ParseSubject();
        var op = Current;
        switch (op.Kind)
        {
            case TokenKind.Equal:
                Advance();
                return new ComparisonExpression(subject, [ParseValue(op)], Negated: false);
            case TokenKind.NotEqual:
                Advance();
                return new ComparisonExpression(subject, [ParseValue(op)], Negated: true);
        }

        if (op.IsKeyword("exists"))
        {
            Advance();
            return new ExistsExpression(subject);
        }

        if (op.IsKeyword("in"))
        {
            Advance();
            return new ComparisonExpression(subject, ParseList(), Negated: false);
        }

        if (op.IsKeyword("not") && _tokens[_index + 1].IsKeyword("in"))
        {
            _index += 2;
            return new ComparisonExpression(subject, ParseList(), Negated: true);
        }

        throw new ConstraintSyntaxException(
            $"expected '==', '!=', 'in', 'not in' or 'exists' but found {op.Describe()}", op.Position);
    }

    private Subject ParseSubject()
    {
        var token = Current;
        if (token.Kind == TokenKind.Word)
        {
            if (token.IsKeyword("name"))
            {
                Advance();
                return Subject.NodeName;
            }

            const string prefix = "attribute:";
            if (token.Text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                var attribute = token.Text[prefix.Length..];
                if (attribute.Length == 0)
                {
                    throw new ConstraintSyntaxException("expected an attribute name after 'attribute:'", token.Position + prefix.Length);
                }

                Advance();
                return new Subject(attribute);
            }
        }

        throw new ConstraintSyntaxException(
            $"expected 'attribute:NAME', 'name', '!' or '(' but found {token.Describe()}", token.Position);
    }

    private string ParseValue(Token after)
    {
        var token = Current;
        if (token.Kind is TokenKind.Word or TokenKind.Quoted)
        {
            Advance();
            return token.Text;
        }

        throw new ConstraintSyntaxException($"expected a value after '{after.Text}' but found {token.Describe()}", token.Position);
    }

    private List<string> ParseList()
    {
        var open = Expect(TokenKind.LeftBracket, "'['");
        var values = new List<string> { ParseValue(open) };
        while (Current.Kind == TokenKind.Comma)
        {
            values.Add(ParseValue(Advance()));
        }

        Expect(TokenKind.RightBracket, "',' or ']'");
        return values;
    }

    private Token Expect(TokenKind kind, string what)
    {
        var token = Current;
        if (token.Kind != kind)
        {
            throw new ConstraintSyntaxException($"expected {what} but found {token.Describe()}", token.Position);
        }

        return Advance();
    }
}
