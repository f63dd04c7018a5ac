using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Api;

internal sealed class TagApi(ClusterState state) : TagService.TagServiceBase
{
    public override Task<TagResourceResponse> TagResource(TagResourceRequest request, ServerCallContext context)
    {
        var resource = ResourceArns.Parse(request.ResourceArn);
        if (request.Tags.Count == 0)
        {
            throw RequestException.Invalid("tags", "give at least one tag");
        }

        state.TagResource(resource, TagValidator.Validate(request.Tags));
        return Task.FromResult(new TagResourceResponse());
    }

    public override Task<UntagResourceResponse> UntagResource(UntagResourceRequest request, ServerCallContext context)
    {
        var resource = ResourceArns.Parse(request.ResourceArn);
        if (request.TagKeys.Count == 0)
        {
            throw RequestException.Invalid("tagKeys", "give at least one tag key");
        }

        Limits.Count(request.TagKeys, TagValidator.MaxTags, "tagKeys");
        var keys = request.TagKeys.Select((k, i) => TagValidator.Key(k, $"tagKeys[{i}]")).ToList();
        state.UntagResource(resource, keys);
        return Task.FromResult(new UntagResourceResponse());
    }

    public override Task<ListTagsForResourceResponse> ListTagsForResource(ListTagsForResourceRequest request, ServerCallContext context)
    {
        var response = new ListTagsForResourceResponse();
        response.Tags.AddRange(TagMapper.ToContract(state.TagsOf(ResourceArns.Parse(request.ResourceArn))));
        return Task.FromResult(response);
    }
}
